import type { EventEmitter } from 'node:events';
import { type ChainableCommander, Cluster, type ClusterStatus, type RedisCommander, type RedisStatus } from 'ioredis';

/** The reply typing of a client made with Spillway's options (RESP2, legacy reply mapping). */
type Resp2Client = { type: 'default'; mapping: 'resp2' };

/**
 * A connection to Redis as Spillway uses it: one server's `Redis`, or a Redis Cluster's `Cluster` (REDIS_CLUSTER_NODES).
 * Both have every command and Spillway's scripts; each key a command or script names shares one hash tag, so it runs
 * on one cluster slot either way. An interface rather than `Redis | Cluster`: TypeScript cannot pick an overload of a
 * command (XCLAIM's, say) on a union of two classes that both overload it.
 */
export interface RedisClient extends RedisCommander<Resp2Client>, EventEmitter {
  readonly status: RedisStatus | ClusterStatus;
  pipeline(commands?: unknown[][]): ChainableCommander;
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number; readOnly?: boolean }): void;
  disconnect(reconnect?: boolean): void;
}

/** True for a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}
