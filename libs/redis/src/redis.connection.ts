import { Redis, type RedisOptions } from 'ioredis';
import { defineSpillwayScripts } from './redis.scripts';

export interface ConnectionOptions {
  /** Fail commands at once while disconnected, instead of queueing them (ingest: a fast 503). */
  failFast?: boolean;
  /** For blocking readers: never give up on a command across reconnects. */
  blocking?: boolean;
  /** Send the commands issued in one event-loop tick as one pipeline (one write, one round trip). */
  autoPipelining?: boolean;
  name?: string;
}

/** Opens a connection with Spillway's scripts defined. RESP2 keeps stream replies as flat arrays. */
export function openRedis(url: string, options: ConnectionOptions = {}): Redis {
  const redisOptions: RedisOptions = {
    protocol: 2,
    connectionName: options.name,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.blocking ? null : options.failFast ? 0 : 3,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    lazyConnect: false,
    enableAutoPipelining: options.autoPipelining ?? false,
  };

  return defineSpillwayScripts(new Redis(url, redisOptions));
}
