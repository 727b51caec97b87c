import { Module, type OnApplicationBootstrap } from '@nestjs/common';
import { CollectionsModule } from '@app/collections';
import { SpillwayConfigModule } from '@app/config';
import { HealthModule } from '@app/health';
import { MetricsModule } from '@app/metrics';
import { DatabaseService, PersistenceModule } from '@app/persistence';
import { RedisModule } from '@app/redis';
import { CollectionsApiModule } from './api/collections-api.module';
import { HealthController } from './health/health.controller';
import { AccessModule } from './http/access.module';
import { RequestMetricsHook } from './http/request-metrics.hook';

/** Ingest only reads PostgreSQL (read-through and version floors), so a small pool does. */
const INGEST_POOL_SIZE = 4;

@Module({
  imports: [
    SpillwayConfigModule.forRoot(),
    CollectionsModule,
    RedisModule,
    PersistenceModule.forRoot({ poolSize: INGEST_POOL_SIZE }),
    MetricsModule,
    HealthModule,
    AccessModule,
    CollectionsApiModule,
  ],
  controllers: [HealthController],
  providers: [RequestMetricsHook],
})
export class IngestModule implements OnApplicationBootstrap {
  constructor(private readonly database: DatabaseService) {}

  onApplicationBootstrap(): void {
    void this.database.connect();
  }
}
