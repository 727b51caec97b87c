import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { redisConfig } from '@app/config';
import type { RedisClient } from './redis-client';
import { openRedis, type ConnectionOptions } from './redis.connection';
import { REDIS_CLIENT, REDIS_CONNECTION_FACTORY } from './redis.tokens';

/** How long boot waits for Redis; past it the app starts anyway and answers 503 until Redis is back. */
const STARTUP_WAIT_MS = 5000;

function whenReady(redis: RedisClient, timeoutMs: number): Promise<void> {
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

/** Opens a new connection (a new cluster client in cluster mode), e.g. for a blocking reader. */
export type RedisConnectionFactory = (options: ConnectionOptions) => RedisClient;

/**
 * Provides the shared command connection and a factory for blocking ones, to one server (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES); closes the shared one at shutdown.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CONNECTION_FACTORY,
      inject: [redisConfig.KEY],
      useFactory:
        (cfg: ConfigType<typeof redisConfig>): RedisConnectionFactory =>
        (options) =>
          openRedis(cfg, options),
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
  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
