/**
 * The local stack: Redis, PostgreSQL and MariaDB servers on loopback, the built apps as child processes, and the
 * project chores around them. One launcher for `npm start`, the tests, chaos, fuzz, soak and bench.
 */
export { type AppExit, type AppName, AppProcess, type AppProcessOptions, type UnexpectedExit } from './app-process';
export {
  ensureServerBinaries,
  findMariadbBinaries,
  findPgBinDir,
  findRedisServer,
  type MariadbBinaries,
  type ServerBinaries,
} from './binaries';
export {
  DATABASE_KINDS,
  type DatabaseKind,
  databaseKindOf,
  type DatabaseReader,
  type DatabaseServer,
  databaseServerControl,
  databaseServerOf,
  type DatabaseServerOptions,
  type DatabaseStopMode,
  openDatabaseReader,
  startDatabaseServer,
} from './database-server';
export {
  MARIADB_PASSWORD,
  MARIADB_USER,
  mariadbControl,
  type MariadbControlOptions,
  type MariadbOptions,
  MariadbServer,
  type MariadbStopMode,
  startMariadb,
} from './mariadb';
export { findFreePort, isPortFree, LOOPBACK_HOST } from './ports';
export {
  type PgStopMode,
  postgresControl,
  type PostgresControlOptions,
  type PostgresOptions,
  PostgresServer,
  startPostgres,
} from './postgres';
export { type LocalServer, stopAll, stopAllOnSignals, stopAllSync } from './processes';
export {
  APP_NODE_FLAGS,
  BUILT_APPS,
  buildIsStale,
  ensureBuilt,
  markBuilt,
  ROOT,
  runNpm,
  SINK_NODE_FLAGS,
} from './project';
export { redisPing, type RedisFsync, type RedisOptions, RedisServer, startRedis } from './redis';
export {
  CLUSTER_SLOTS,
  type ClusterNodeInfo,
  type ClusterRole,
  parseClusterNodes,
  type RedisClusterNode,
  type RedisClusterOptions,
  RedisClusterServer,
  type ReshardRequest,
  slotOfKey,
  startRedisCluster,
} from './redis-cluster';
export {
  RedisSentinelSetup,
  type RedisSentinelOptions,
  type SentinelNodeRole,
  startRedisSentinel,
} from './redis-sentinel';
export { type Backlog, type CollectionSpec, Stack, type StackOptions } from './stack';
