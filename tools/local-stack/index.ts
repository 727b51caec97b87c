/**
 * The local stack: Redis and PostgreSQL servers on loopback, the built apps as child processes, and the project
 * chores around them. One launcher for `npm start`, the tests, chaos, fuzz, soak and bench.
 */
export { type AppExit, type AppName, AppProcess, type AppProcessOptions, type UnexpectedExit } from './app-process';
export { ensureServerBinaries, findPgBinDir, findRedisServer, type ServerBinaries } from './binaries';
export { forEachKeyWithPrefix } from './key-scan';
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
export { APP_NODE_FLAGS, BUILT_APPS, buildIsStale, ensureBuilt, markBuilt, ROOT, runNpm } from './project';
export { redisPing, type RedisFsync, type RedisOptions, RedisServer, startRedis } from './redis';
export { type Backlog, type CollectionSpec, Stack, type StackOptions } from './stack';
