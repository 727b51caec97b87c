import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SpillwayHealthIndicators } from '@app/health';
import { DatabaseService } from '@app/persistence';
import { SinkHealthIndicator } from './sink.health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: SpillwayHealthIndicators,
    private readonly database: DatabaseService,
    private readonly sink: SinkHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.indicators.redisPing(),
      () => this.indicators.databasePing(this.database),
      () => this.sink.writing(),
      () => this.indicators.notDraining(),
    ]);
  }
}
