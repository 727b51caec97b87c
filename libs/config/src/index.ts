export * from './env.schema';
export * from './app.config';
export * from './redis-connection';
export * from './config.module';
export * from './bootstrap';
export * from './command-env';
