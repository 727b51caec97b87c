import { registerAs } from '@nestjs/config';
import { hostname } from 'node:os';
import { parseApiKeys } from './api-keys';
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
    /** empty: no authentication */
    apiKeys: parseApiKeys(env.INGEST_API_KEYS).grants,
    /** requests a second per API key or client address; 0: no limit */
    rateLimit: env.INGEST_RATE_LIMIT ?? 0,
    durability: env.INGEST_DURABILITY,
    waitReplicas: env.INGEST_WAIT_REPLICAS,
    waitTimeoutMs: env.INGEST_WAIT_TIMEOUT_MS,
    persistTimeoutMs: env.INGEST_PERSIST_TIMEOUT_MS,
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
