import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { redisConfig } from '@app/config';
import { openRedis, type ConnectionOptions } from './redis.connection';
import { REDIS_CLIENT, REDIS_CONNECTION_FACTORY } from './redis.tokens';

/** How long boot waits for Redis; past it the app starts anyway and answers 503 until Redis is back. */
const STARTUP_WAIT_MS = 5000;

function whenReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') {
    return Promise.resolve();
  }

  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

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
      useFactory: async (open: RedisConnectionFactory) => {
        const redis = open({ failFast: true, autoPipelining: true, name: 'spillway' });
        const logger = new Logger('Redis');
        redis.on('error', (error: Error) => logger.warn(`redis connection: ${error.message}`));
        await whenReady(redis, STARTUP_WAIT_MS);

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
