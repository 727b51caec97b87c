import { Global, Module } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { MetricsController } from './metrics.controller';
import { SpillwayMetrics } from './spillway.metrics';
import { StreamStatsService } from './stream-stats.service';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [
    {
      provide: Registry,
      useFactory: () => {
        const registry = new Registry();
        collectDefaultMetrics({ register: registry });

        return registry;
      },
    },
    { provide: SpillwayMetrics, inject: [Registry], useFactory: (registry: Registry) => new SpillwayMetrics(registry) },
    StreamStatsService,
  ],
  exports: [SpillwayMetrics, StreamStatsService],
})
export class MetricsModule {}
