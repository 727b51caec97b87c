import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { redisConfig } from '@app/config';
import { openRedis, type ConnectionOptions } from './redis.connection';
import { REDIS_CLIENT, REDIS_CONNECTION_FACTORY } from './redis.tokens';

export type RedisConnectionFactory = (options: ConnectionOptions) => Redis;

/** Provides the shared command connection and a factory for blocking ones; closes the shared one at shutdown. */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CONNECTION_FACTORY,
      inject: [redisConfig.KEY],
      useFactory:
        (cfg: ConfigType<typeof redisConfig>): RedisConnectionFactory =>
        (options) =>
          openRedis(cfg.url, options),
    },
    {
      provide: REDIS_CLIENT,
      inject: [REDIS_CONNECTION_FACTORY],
      useFactory: (open: RedisConnectionFactory) => {
        const redis = open({ failFast: true, name: 'spillway' });
        const logger = new Logger('Redis');
        redis.on('error', (error: Error) => logger.warn(`redis connection: ${error.message}`));

        return redis;
      },
    },
  ],
  exports: [REDIS_CLIENT, REDIS_CONNECTION_FACTORY],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS_CLIENT) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
