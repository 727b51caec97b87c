export * from './spillway.metrics';
export * from './stream-stats.service';
export * from './metrics.module';
