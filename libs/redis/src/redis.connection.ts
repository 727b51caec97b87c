import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { type RedisConnectionSettings, redisTlsOptions } from '@app/config';
import type { RedisClient } from './redis-client';
import { defineSpillwayScripts } from './redis.scripts';
import { watchTlsFailures } from './redis-tls-failures';
import { sentinelOptions } from './sentinel-options';

export interface ConnectionOptions {
  /** Fail commands at once while disconnected, instead of queueing them (ingest: a fast 503). */
  failFast?: boolean;
  /** For blocking readers: never give up on a command across reconnects. */
  blocking?: boolean;
  /** Send the commands issued in one event-loop tick as one pipeline (one write, one round trip). */
  autoPipelining?: boolean;
  name?: string;
}

/**
 * Where to connect: a `redis://` URL (one server), or the settings of libs/config (one server, a cluster, or a master
 * the Sentinels name).
 */
export type RedisTarget = string | RedisConnectionSettings;

const retryDelayMs = (attempt: number) => Math.min(50 * 2 ** attempt, 2000);

/**
 * Opens a connection with Spillway's scripts defined: a `Cluster` when the target names cluster nodes, a `Redis` that
 * asks the Sentinels for the master when it names Sentinels (sentinel-options.ts), else one server's `Redis`. RESP2
 * keeps stream replies as flat arrays. A blocking reader gets a connection (a whole cluster client) of its own, so that
 * a blocked XREADGROUP never holds a socket other commands wait for.
 */
export function openRedis(target: string, options?: ConnectionOptions): Redis;
export function openRedis(target: RedisTarget, options?: ConnectionOptions): RedisClient;
export function openRedis(target: RedisTarget, options: ConnectionOptions = {}): RedisClient {
  if (typeof target !== 'string' && target.clusterNodes) {
    const cluster = new Cluster(target.clusterNodes, clusterOptions(target, options));
    if (options.failFast) {
      // ioredis connects to a node at its first command, and a fail-fast client refuses the commands that come while
      // it connects (to send them again 100 ms later): connecting every master once the client is ready, and each new
      // one a slot refresh finds, avoids that. Not before: ioredis's ready check would be refused the same way.
      cluster.on('ready', () => connectMasters(cluster));
      cluster.on('refresh', () => connectMasters(cluster));
    }

    return defineSpillwayScripts(watchTlsFailures(cluster));
  }
  const redisOptions: RedisOptions = {
    protocol: 2,
    connectionName: options.name,
    enableOfflineQueue: !options.failFast,
    maxRetriesPerRequest: options.blocking ? null : options.failFast ? 0 : 3,
    retryStrategy: retryDelayMs,
    lazyConnect: false,
    enableAutoPipelining: options.autoPipelining ?? false,
    ...(typeof target !== 'string' && target.password !== undefined ? { password: target.password } : {}),
    ...(typeof target !== 'string' && target.tls ? { tls: redisTlsOptions(target) } : {}),
  };
  if (typeof target !== 'string' && target.sentinel) {
    return defineSpillwayScripts(
      watchTlsFailures(new Redis(sentinelOptions(target, target.sentinel, redisOptions, options.failFast === true))),
    );
  }

  return defineSpillwayScripts(
    watchTlsFailures(new Redis(typeof target === 'string' ? target : target.url, redisOptions)),
  );
}

function connectMasters(cluster: Cluster): void {
  if (cluster.status !== 'ready') {
    return;
  }
  for (const master of cluster.nodes('master')) {
    if (master.status === 'wait') master.connect().catch(() => undefined);
  }
}

/**
 * How long ioredis waits before it sends a command again after a MOVED it could not follow yet, a TRYAGAIN, a
 * CLUSTERDOWN or a lost node; {@link MAX_REDIRECTIONS} of them (about 1.6 s, less than a failover's few seconds)
 * and the command fails, so ingest answers 503 while a slot has no master instead of holding the request.
 */
const CLUSTER_RETRY_DELAY_MS = 100;
const MAX_REDIRECTIONS = 16;

function clusterOptions(settings: RedisConnectionSettings, options: ConnectionOptions): ClusterOptions {
  return {
    scaleReads: 'master',
    enableOfflineQueue: !options.failFast,
    // No auto-pipelining on a cluster: when a slot moves or a master changes, ioredis sends an auto-pipeline again
    // and then refuses it whole ("All keys in the pipeline should belong to the same slots allocation group",
    // ioredis issues 1734 and 2075), which the chaos runs met as 500s during resharding and failovers.
    enableAutoPipelining: false,
    clusterRetryStrategy: retryDelayMs,
    // A fail-fast client's node connections reconnect on their own with maxRetriesPerRequest 0 (below): a command in
    // flight when its node goes away then fails with MaxRetriesPerRequestError, an outcome the ingest reports as
    // unknown, as on one server. Without it ioredis ends the node's connection and sends such a write again to
    // whichever master serves the slot next, so a write that had run would run twice (a conditional one then
    // answering 409 or 412 for its own success). Commands the cluster client refuses before sending them (the node
    // is not connected) are still sent again after CLUSTER_RETRY_DELAY_MS. Other clients (the sink's) keep ioredis's
    // default: their commands are safe to send again.
    ...(options.failFast ? { clusterNodeRetryStrategy: retryDelayMs } : {}),
    maxRedirections: MAX_REDIRECTIONS,
    retryDelayOnFailover: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: CLUSTER_RETRY_DELAY_MS,
    retryDelayOnTryAgain: CLUSTER_RETRY_DELAY_MS,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      protocol: 2,
      connectionName: options.name,
      maxRetriesPerRequest: options.blocking ? null : options.failFast ? 0 : 3,
      ...(settings.username === undefined ? {} : { username: settings.username }),
      ...(settings.password === undefined ? {} : { password: settings.password }),
      ...(settings.tls ? { tls: redisTlsOptions(settings) } : {}),
    },
  };
}
