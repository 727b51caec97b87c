import { Module } from '@nestjs/common';
import { CollectionsModule } from '@app/collections';
import { SpillwayConfigModule } from '@app/config';
import { HealthModule } from '@app/health';
import { MetricsModule } from '@app/metrics';
import { PersistenceModule } from '@app/persistence';
import { RedisModule } from '@app/redis';
import { StreamConsumerService } from './consumer/stream-consumer.service';
import { StreamMaintenanceService } from './maintenance/stream-maintenance.service';
import { HealthController } from './health/health.controller';
import { SinkHealthIndicator } from './health/sink.health';

/** One connection per partition loop, plus maintenance and health (in each database's pool). */
const SINK_POOL_SIZE = 6;

@Module({
  imports: [
    SpillwayConfigModule.forRoot(),
    CollectionsModule,
    RedisModule,
    PersistenceModule.forRoot({ poolSize: SINK_POOL_SIZE }),
    MetricsModule,
    HealthModule,
  ],
  controllers: [HealthController],
  providers: [StreamConsumerService, StreamMaintenanceService, SinkHealthIndicator],
})
export class SinkModule {}
