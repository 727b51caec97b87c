export * from './shutdown.state';
export * from './readiness.checks';
export * from './spillway.health';
export * from './health.module';
