import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SpillwayHealthIndicators } from '@app/health';
import { StreamConsumerService } from '../consumer/stream-consumer.service';
import { SinkHealthIndicator } from './sink.health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: SpillwayHealthIndicators,
    private readonly consumers: StreamConsumerService,
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
      ...this.consumers.served().map(
        ({ name, database }) =>
          () =>
            this.indicators.databasePing(database, name),
      ),
      () => this.sink.writing(),
      () => this.indicators.notDraining(),
    ]);
  }
}
