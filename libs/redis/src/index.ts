export * from './redis.tokens';
export * from './redis.scripts';
export * from './redis.connection';
export * from './redis.module';
export * from './redis-reply-errors';
