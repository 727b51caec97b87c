// The Redis a Stack runs: one redis-server, a local Redis Cluster, or a Sentinel setup. Each gives the apps their
// environment and the tools a client that waits out Redis restarts and failovers. Every redis-server (and Sentinel) is
// tracked like the other local servers, so the Stack's stopAll() stops a cluster's nodes too (and --keep keeps their
// folders).
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import type { RedisClient } from '@app/redis';
import { type RedisClusterOptions, type RedisClusterServer, startRedisCluster } from './redis-cluster';
import { type RedisSentinelOptions, type RedisSentinelSetup, startRedisSentinel } from './redis-sentinel';
import { LOOPBACK_HOST } from './ports';
import { type RedisFsync, type RedisServer, startRedis } from './redis';

/**
 * What a Stack's Redis is; `cluster` takes the shape of the local cluster (default 3 masters, 1 replica each),
 * `sentinel` that of a Sentinel setup (default a primary, 1 replica, 3 Sentinels).
 */
export interface StackRedisOptions {
  /** its folder (a cluster makes a folder of its own in it) */
  dir: string;
  fsync: RedisFsync;
  cluster?: Pick<RedisClusterOptions, 'masters' | 'replicasPerMaster' | 'nodeTimeoutMs'>;
  sentinel?: Pick<RedisSentinelOptions, 'replicas' | 'downAfterMs' | 'masterName'>;
}

/** A Stack's Redis, whichever kind. */
export interface StackRedis {
  /** the one server; undefined on a cluster or Sentinel setup */
  readonly server: RedisServer | undefined;
  /** the cluster; undefined on one server or a Sentinel setup */
  readonly cluster: RedisClusterServer | undefined;
  /** the Sentinel setup; undefined on one server or a cluster */
  readonly sentinel: RedisSentinelSetup | undefined;
  /** REDIS_URL, and REDIS_CLUSTER_NODES on a cluster or REDIS_SENTINELS and REDIS_SENTINEL_NAME: the apps' */
  readonly env: Record<string, string>;
  /** A client for the tools: its commands wait out a restart or a failover rather than fail. */
  openClient(): RedisClient;
}

/**
 * How long the tools' cluster client keeps sending a command again while its slot has no master, or has moved: 100
 * tries 200 ms apart, longer than a master's failover (node timeout plus election, about 3 s here).
 */
const CLUSTER_RETRIES = 100;
const CLUSTER_RETRY_DELAY_MS = 200;

class SingleServerRedis implements StackRedis {
  readonly cluster = undefined;
  readonly sentinel = undefined;

  constructor(readonly server: RedisServer) {}

  get env(): Record<string, string> {
    return { REDIS_URL: this.server.url };
  }

  openClient(): RedisClient {
    const client = new Redis(this.server.url, { protocol: 2, maxRetriesPerRequest: null });
    client.on('error', () => undefined); // Redis restarts are part of the runs; commands wait for the reconnect

    return client;
  }
}

class ClusterRedis implements StackRedis {
  readonly server = undefined;
  readonly sentinel = undefined;

  constructor(readonly cluster: RedisClusterServer) {}

  get env(): Record<string, string> {
    // In cluster mode REDIS_URL only lends its credentials and scheme; the seed nodes say where the cluster is.
    return {
      REDIS_URL: `redis://${this.cluster.seedNodes.split(',')[0]}`,
      REDIS_CLUSTER_NODES: this.cluster.seedNodes,
    };
  }

  openClient(): RedisClient {
    const client = new Cluster(this.cluster.startupNodes, {
      redisOptions: { protocol: 2 },
      maxRedirections: CLUSTER_RETRIES,
      retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
      retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
      retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
      clusterRetryStrategy: () => CLUSTER_RETRY_DELAY_MS,
      slotsRefreshTimeout: 2000,
    });
    client.on('error', () => undefined); // failovers and killed nodes are part of the runs

    return client;
  }
}

class SentinelRedis implements StackRedis {
  readonly server = undefined;
  readonly cluster = undefined;

  constructor(readonly sentinel: RedisSentinelSetup) {}

  get env(): Record<string, string> {
    // With Sentinels REDIS_URL only lends its credentials, scheme and database; the Sentinels say where the master is.
    return {
      REDIS_URL: `redis://${LOOPBACK_HOST}`,
      REDIS_SENTINELS: this.sentinel.sentinelAddresses,
      REDIS_SENTINEL_NAME: this.sentinel.masterName,
    };
  }

  openClient(): RedisClient {
    const client = new Redis({
      sentinels: this.sentinel.sentinelNodes,
      name: this.sentinel.masterName,
      protocol: 2,
      maxRetriesPerRequest: null,
      // the old master, demoted, refuses a write before the switch is seen: send it again to the new one
      reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    });
    client.on('error', () => undefined); // failovers and killed nodes are part of the runs

    return client;
  }
}

/**
 * Starts one redis-server (AOF on) or, with `cluster`, a local Redis Cluster, or with `sentinel` a Sentinel setup,
 * whose every data node runs the AOF alike.
 */
export async function startStackRedis({ dir, fsync, cluster, sentinel }: StackRedisOptions): Promise<StackRedis> {
  if (sentinel) {
    return new SentinelRedis(
      await startRedisSentinel({ ...sentinel, parentDir: dir, appendOnly: true, appendFsync: fsync }),
    );
  }
  if (cluster) {
    return new ClusterRedis(
      await startRedisCluster({ ...cluster, parentDir: dir, appendOnly: true, appendFsync: fsync }),
    );
  }

  return new SingleServerRedis(await startRedis({ dir: join(dir, 'redis'), appendOnly: true, appendFsync: fsync }));
}
