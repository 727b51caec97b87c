import { Module } from '@nestjs/common';
import { CollectionsModule } from '@app/collections';
import { SpillwayConfigModule } from '@app/config';
import { HealthModule } from '@app/health';
import { MetricsModule } from '@app/metrics';
import { PersistenceModule, SchemaProvisioner } from '@app/persistence';
import { RedisModule } from '@app/redis';
import { StreamConsumerService } from './consumer/stream-consumer.service';
import { StreamMaintenanceService } from './maintenance/stream-maintenance.service';
import { BatchWriterService } from './upsert/batch-writer.service';
import { HealthController } from './health/health.controller';
import { SinkHealthIndicator } from './health/sink.health';

/** One connection per partition loop, plus maintenance and health. */
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
  providers: [
    SchemaProvisioner,
    BatchWriterService,
    StreamConsumerService,
    StreamMaintenanceService,
    SinkHealthIndicator,
  ],
})
export class SinkModule {}
