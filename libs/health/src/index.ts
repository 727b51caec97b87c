export * from './shutdown.state';
export * from './spillway.health';
export * from './health.module';
