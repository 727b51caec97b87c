/** Types for servers.js (plain CommonJS so that scripts run without a build); keep the two in step. */

export interface ServerBinaries {
  redisServer: string;
  pgBinDir: string;
}

export type PgStopMode = 'fast' | 'immediate' | 'smart';

export interface RedisOptions {
  /** data folder (AOF and `redis.log`); created when missing */
  dir: string;
  /** default: preferredPort when free, else a free port */
  port?: number;
  /** the port to use when it is free (a leftover server on `dir` is stopped first) */
  preferredPort?: number;
  /** AOF on; default false */
  appendOnly?: boolean;
  /** default 'everysec' */
  appendFsync?: 'always' | 'everysec';
  /** default: `redis-server` from the PATH, installed when missing */
  redisServer?: string;
  /** default 60000 */
  startTimeoutMs?: number;
}

export declare class RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  /** written by redis-server; a leftover server on the same folder is stopped before start */
  readonly pidFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  start(): Promise<void>;
  /** SIGTERM, SIGKILL after 15 s; waits for the exit */
  stop(): Promise<void>;
  /** default SIGKILL: a crash */
  kill(signal?: NodeJS.Signals): void;
  /** stop then start on the same port and folder */
  restart(): Promise<void>;
  /** signal a stop without waiting; returns the pid signalled */
  signalStop(): number | undefined;
}

export interface PostgresOptions {
  /** data folder; initdb only when it holds no PG_VERSION */
  dir: string;
  /** default: preferredPort when free, else a free port */
  port?: number;
  /** the port to use when it is free (a leftover server on `dir` is stopped first) */
  preferredPort?: number;
  /** created when missing; default 'spillway' */
  database?: string;
  /** default true; false turns fsync off */
  durable?: boolean;
  pgBinDir?: string;
}

export declare class PostgresServer {
  readonly url: string;
  readonly port: number;
  /** the folder in use (may be a fallback under os.tmpdir()) */
  readonly dir: string;
  readonly database: string;
  readonly binDir: string;
  readonly logFile: string;
  isRunning(): Promise<boolean>;
  /** no-op when running; waits until connections are accepted */
  start(): Promise<void>;
  /** default 'fast'; no-op when not running */
  stop(mode?: PgStopMode): Promise<void>;
  restart(mode?: PgStopMode): Promise<void>;
  /** signal a stop without waiting; returns the pid signalled */
  signalStop(): number | undefined;
  /** one statement through psql as superuser; unaligned tuples-only output */
  psql(sql: string, database?: string): Promise<string>;
  createDatabaseIfMissing(): Promise<void>;
}

export declare function findFreePort(): Promise<number>;
export declare function isPortFree(port: number): Promise<boolean>;
export declare function ensureServerBinaries(): ServerBinaries;
export declare function findRedisServer(): string | undefined;
export declare function findPgBinDir(): string | undefined;
export declare function redisPing(port: number, timeoutMs?: number): Promise<boolean>;
export declare function startRedis(options: RedisOptions): Promise<RedisServer>;
export declare function startPostgres(options: PostgresOptions): Promise<PostgresServer>;
export declare function postgresControl(options: {
  dir: string;
  port?: number;
  database?: string;
  pgBinDir?: string;
}): PostgresServer;
export declare function stopAll(): Promise<void>;
/** signal every tracked server; with waitMs, block until they are gone */
export declare function stopAllSync(waitMs?: number): void;
/** on SIGINT/SIGTERM/SIGHUP: stopAllSync(10000), cleanup(), then the signal's usual effect */
export declare function stopAllOnSignals(cleanup?: () => void): void;
