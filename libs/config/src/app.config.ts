import { registerAs } from '@nestjs/config';
import { hostname } from 'node:os';
import { databaseConnections, loadEnv, splitList } from './env.schema';
import { redisConnectionSettings } from './redis-connection';

export const appConfig = registerAs('app', () => {
  const env = loadEnv();

  return {
    port: env.PORT,
    collectionsDir: env.COLLECTIONS_DIR,
    entityModules: splitList(env.SINK_ENTITIES),
    partitions: env.SPILLWAY_PARTITIONS,
    logLevel: env.LOG_LEVEL,
  };
});

/** One server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES), with the credentials. */
export const redisConfig = registerAs('redis', () => redisConnectionSettings(loadEnv()));

/** The databases: DATABASE_URL's (`default`, first) and the named connections. */
export const databaseConfig = registerAs('database', () => ({ connections: databaseConnections(loadEnv()) }));

export const ingestConfig = registerAs('ingest', () => {
  const env = loadEnv();

  return {
    maxBodyBytes: env.INGEST_MAX_BODY,
    maxBacklog: env.INGEST_MAX_BACKLOG,
    docTtlSeconds: env.INGEST_DOC_TTL_S ?? 0,
    apiKeys: env.INGEST_API_KEYS ? env.INGEST_API_KEYS.split(',') : [],
  };
});

export const sinkConfig = registerAs('sink', () => {
  const env = loadEnv();

  return {
    group: env.SINK_GROUP,
    /** The connections this sink writes to; empty for all of them. */
    connections: splitList(env.SINK_CONNECTIONS),
    consumer: env.SINK_CONSUMER ?? `${hostname()}-${process.pid}`,
    batchSize: env.SINK_BATCH_SIZE,
    blockMs: env.SINK_BLOCK_MS,
    claimIdleMs: env.SINK_CLAIM_IDLE_MS,
    leaseTtlMs: env.SINK_LEASE_TTL_MS,
    waitReplicas: env.SINK_WAIT_REPLICAS,
    missingReplicaWaitMs: env.SINK_MISSING_REPLICA_WAIT_MS,
    maxDeliveries: env.SINK_MAX_DELIVERIES,
    shutdownMs: env.SINK_SHUTDOWN_MS,
  };
});

export type AppConfig = ReturnType<typeof appConfig>;
export type RedisConfig = ReturnType<typeof redisConfig>;
export type DatabaseConfig = ReturnType<typeof databaseConfig>;
export type IngestConfig = ReturnType<typeof ingestConfig>;
export type SinkConfig = ReturnType<typeof sinkConfig>;
