// A whole Spillway on loopback for the fault and load tools (chaos, fuzz, soak, bench): its own Redis (one server, a
// local Redis Cluster, or a Sentinel setup) and database (PostgreSQL, or MariaDB) in a folder of its own, one ingest
// process and N sink processes (the built apps), each of which can be killed, frozen, stopped and started again while
// the others run.
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { allPartitions, DEFAULT_SINK_GROUP, partitioned } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import { AppProcess, type UnexpectedExit } from './app-process';
import { ensureServerBinaries } from './binaries';
import { sleep } from './commands';
import { type DatabaseKind, type DatabaseReader, type DatabaseServer, startDatabaseServer } from './database-server';
import { stopAll } from './processes';
import { ensureBuilt } from './project';
import type { RedisFsync, RedisServer } from './redis';
import type { RedisClusterServer } from './redis-cluster';
import type { RedisSentinelSetup } from './redis-sentinel';
import { type StackRedis, type StackRedisOptions, startStackRedis } from './stack-redis';

/** A collection file the stack writes for the apps (JSON is YAML: the loader reads it as any other). */
export interface CollectionSpec {
  name: string;
  kind: 'document' | 'event';
  schema?: object;
  /** the file's `partitions:`; default 1 */
  partitions?: number;
  /** more members of the file (table, key, transform, output…), merged in as they are */
  extra?: Record<string, unknown>;
}

/** What a Stack runs, whatever its Redis. */
export interface StackCommonOptions {
  /** its folder: collection files, Redis and database data; removed by stop() unless kept */
  dir: string;
  /** sink processes to start with; default 2 */
  replicas?: number;
  collections: CollectionSpec[];
  /** Redis's AOF fsync (every node's, on a cluster); default 'always' */
  redisFsync?: RedisFsync;
  /** the database the apps write to; default 'postgres' */
  database?: DatabaseKind;
  /** the database flushes its log at each commit (PostgreSQL's fsync, MariaDB's flush at commit); default true */
  databaseDurable?: boolean;
  /** extra environment for every sink */
  sinkEnv?: Record<string, string>;
  /** extra environment for ingest */
  ingestEnv?: Record<string, string>;
  /**
   * a Sentinel setup (a primary, its replica and 3 Sentinels, unless told otherwise) instead of one redis-server, which
   * the apps find through REDIS_SENTINELS and REDIS_SENTINEL_NAME
   */
  redisSentinel?: StackRedisOptions['sentinel'];
}

/**
 * What a Stack runs. `redisCluster`: a local Redis Cluster (3 masters with a replica each, unless told otherwise)
 * instead of one redis-server, whose nodes the apps get as REDIS_CLUSTER_NODES. Only a `Stack<RedisClient>` may run
 * one: a plain `Stack` runs one redis-server and hands out its `Redis` client.
 */
export type StackOptions<R extends RedisClient = Redis> = StackCommonOptions &
  ([R] extends [Redis] ? { redisCluster?: undefined } : { redisCluster?: StackRedisOptions['cluster'] });

/** Entries not yet acked by the group, by collection name. */
export type Backlog = Record<string, number>;

/**
 * A Spillway on loopback. `R` is its Redis client's type: `Redis` (the default) for one redis-server, `RedisClient` for
 * a stack that may run a Redis Cluster (see StackOptions).
 */
export class Stack<R extends RedisClient = Redis> {
  readonly dir: string;
  readonly collections: CollectionSpec[];
  /** the one redis-server; undefined on a cluster or Sentinel setup */
  redisServer: RedisServer | undefined;
  /** the local Redis Cluster, when the stack runs one */
  redisCluster: RedisClusterServer | undefined;
  /** the Sentinel setup, when the stack runs one */
  redisSentinel: RedisSentinelSetup | undefined;
  databaseServer: DatabaseServer | undefined;
  ingest: AppProcess | undefined;
  /** the sink replicas running now */
  sinks: AppProcess[] = [];
  /** every sink process ever started, for the crash check */
  readonly allSinks: AppProcess[] = [];
  /** a client of the stack's Redis (a cluster client on a cluster); it waits out Redis restarts and failovers */
  redis: R | undefined;
  /** a reader on the stack's database, whatever its kind; it shrugs off database restarts */
  database: DatabaseReader | undefined;
  /** a small pool on the stack's database when it is PostgreSQL; it shrugs off PostgreSQL restarts */
  pg: pg.Pool | undefined;
  private stackRedis: StackRedis | undefined;
  private sinkCounter = 0;
  private sinkEnv: Record<string, string> = {};

  constructor(readonly options: StackOptions<R>) {
    this.dir = options.dir;
    this.collections = options.collections;
  }

  get ingestUrl(): string {
    return this.ingest?.url ?? '';
  }

  /** the one server's URL; on a cluster, a node's (see redisEnv) */
  get redisUrl(): string {
    return this.stackRedis?.env.REDIS_URL ?? '';
  }

  /** REDIS_URL, and REDIS_CLUSTER_NODES on a cluster or REDIS_SENTINELS and REDIS_SENTINEL_NAME: where Redis is */
  get redisEnv(): Record<string, string> {
    return this.stackRedis?.env ?? {};
  }

  /** Whether the stack runs a Redis Cluster rather than one redis-server. */
  get isCluster(): boolean {
    return this.options.redisCluster !== undefined;
  }

  /** Whether the stack runs a Sentinel setup rather than one redis-server. */
  get isSentinel(): boolean {
    return this.options.redisSentinel !== undefined;
  }

  get databaseUrl(): string {
    return this.databaseServer?.url ?? '';
  }

  /** The kind of database the stack runs. */
  get databaseKind(): DatabaseKind {
    return this.options.database ?? 'postgres';
  }

  /** The database server; throws when the stack is not started. */
  get databaseHandle(): DatabaseServer {
    return this.started(this.databaseServer, 'databaseServer');
  }

  /** The reader on the stack's database; throws when the stack is not started. */
  get databaseReader(): DatabaseReader {
    return this.started(this.database, 'database');
  }

  /** The Redis client (a cluster client on a cluster); throws when the stack is not started. */
  get redisClient(): R {
    return this.started(this.redis, 'redis');
  }

  /** The local Redis Cluster; throws when the stack is not started or runs one redis-server. */
  get redisClusterHandle(): RedisClusterServer {
    if (!this.isCluster) throw new Error(`Stack in ${this.dir} runs one redis-server, not a Redis Cluster`);

    return this.started(this.redisCluster, 'redisCluster');
  }

  /** The Sentinel setup; throws when the stack is not started or runs no Sentinels. */
  get redisSentinelHandle(): RedisSentinelSetup {
    if (!this.isSentinel) throw new Error(`Stack in ${this.dir} runs no Redis Sentinel`);

    return this.started(this.redisSentinel, 'redisSentinel');
  }

  /** The PostgreSQL pool; throws when the stack is not started, or runs MariaDB (see databaseReader). */
  get pgPool(): pg.Pool {
    if (this.databaseKind !== 'postgres') throw new Error(`Stack in ${this.dir} runs ${this.databaseKind}: no pg pool`);

    return this.started(this.pg, 'pg');
  }

  /** The ingest process; throws when the stack is not started. */
  get ingestApp(): AppProcess {
    return this.started(this.ingest, 'ingest');
  }

  private started<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`Stack in ${this.dir}: ${what} is not there until start() resolves`);

    return value;
  }

  /** The folder of the collection files the apps read (COLLECTIONS_DIR), written by {@link start}. */
  get collectionsDir(): string {
    return join(this.dir, 'collections');
  }

  /** Redis, the database, the collection files, ingest and the sinks; resolves when all are ready. */
  async start(): Promise<void> {
    ensureBuilt();
    ensureServerBinaries();
    mkdirSync(this.dir, { recursive: true });
    chmodSync(this.dir, 0o755); // PostgreSQL and MariaDB run as users postgres and mysql and must enter it
    const collectionsDir = this.collectionsDir;
    mkdirSync(collectionsDir, { recursive: true });
    for (const { extra, ...spec } of this.collections) {
      // JSON is YAML: the loader reads it as any other collection file.
      writeFileSync(join(collectionsDir, `${spec.name}.yaml`), JSON.stringify({ ...extra, ...spec }, null, 2));
    }
    const kind = this.databaseKind;
    const [stackRedis, databaseServer] = await Promise.all([
      startStackRedis({
        dir: this.dir,
        fsync: this.options.redisFsync ?? 'always',
        cluster: this.options.redisCluster,
        sentinel: this.options.redisSentinel,
      }),
      startDatabaseServer(kind, {
        dir: join(this.dir, kind),
        durable: this.options.databaseDurable ?? true,
      }),
    ]);
    this.stackRedis = stackRedis;
    this.redisServer = stackRedis.server;
    this.redisCluster = stackRedis.cluster;
    this.redisSentinel = stackRedis.sentinel;
    this.databaseServer = databaseServer;
    // StackOptions<R> lets a stack run a cluster only when R admits a cluster client.
    this.redis = stackRedis.openClient() as R;
    this.database = databaseServer.reader();
    if (kind === 'postgres') {
      this.pg = new pg.Pool({ connectionString: databaseServer.url, max: 2 });
      this.pg.on('error', () => undefined); // likewise PostgreSQL restarts
    }
    const common = {
      LOG_LEVEL: 'warn', // the run tools report what matters themselves; an app's output is kept for a crash report
      ...stackRedis.env,
      DATABASE_URL: databaseServer.url,
      COLLECTIONS_DIR: collectionsDir,
    };
    const ingest = new AppProcess('ingest', 'ingest', { ...common, ...this.options.ingestEnv });
    this.ingest = ingest;
    this.sinkEnv = { ...common, ...this.options.sinkEnv };
    await ingest.start();
    await Promise.all(Array.from({ length: this.options.replicas ?? 2 }, () => this.addSink()));
    await Promise.all([ingest, ...this.sinks].map((app) => app.waitUntilReady()));
  }

  /** Starts one more sink replica (a scale-up); resolves when it serves /health/live. */
  async addSink(): Promise<AppProcess> {
    this.sinkCounter += 1;
    const name = `sink-${this.sinkCounter}`;
    const sink = new AppProcess(name, 'sink', { ...this.sinkEnv, SINK_CONSUMER: name });
    this.sinks.push(sink);
    this.allSinks.push(sink);
    await sink.start();

    return sink;
  }

  /** SIGTERM one replica and forget it (a scale-down); resolves with how long its drain took, in ms. */
  async removeSink(sink: AppProcess): Promise<number> {
    this.sinks = this.sinks.filter((s) => s !== sink);

    return sink.terminate();
  }

  /**
   * Crashes the one redis-server (SIGKILL) and waits for the exit; start it again (on its AOF) with
   * redisServer.start(). Throws on a cluster: its faults are the cluster's own (redisClusterHandle).
   */
  async crashRedis(): Promise<void> {
    if (this.isCluster) throw new Error(`Stack in ${this.dir} runs a Redis Cluster: no one redis-server to crash`);
    if (this.isSentinel) throw new Error(`Stack in ${this.dir} runs Redis Sentinel: crash its master instead`);
    const server = this.started(this.redisServer, 'redisServer');
    server.kill('SIGKILL');
    await server.exited;
  }

  /**
   * Entries of each collection stream not yet acked by the group (undelivered plus pending). Cheap by default:
   * Redis's own 'lag', bounded by the stream's length (it can stay off after an AOF reload); `exact` counts the
   * entries after the group's last delivered one instead.
   */
  async backlog({ exact = false } = {}): Promise<Backlog> {
    const result: Backlog = {};
    for (const collection of this.collections) {
      let total = 0;
      for (const { stream } of allPartitions(partitioned(collection))) {
        total += await this.partitionBacklog(stream, exact);
      }
      result[collection.name] = total;
    }

    return result;
  }

  private async partitionBacklog(stream: string, exact: boolean): Promise<number> {
    const redis = this.redisClient;
    const groups = (await redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
    const group = groups.find((g) => g[g.indexOf('name') + 1] === DEFAULT_SINK_GROUP);
    const length = await redis.xlen(stream);
    if (!group) return length;
    const field = (key: string) => group[group.indexOf(key) + 1];
    const after = `(${String(field('last-delivered-id'))}`;
    let undelivered: number;
    if (exact) {
      undelivered = (await redis.xrange(stream, after, '+', 'COUNT', 1_000_000)).length;
    } else if ((await redis.xrange(stream, after, '+', 'COUNT', 1)).length === 0) {
      undelivered = 0;
    } else {
      undelivered = Math.min(field('lag') === null ? length : Number(field('lag')), length);
    }

    return Number(field('pending')) + undelivered;
  }

  /** Polls until every collection's backlog is 0; returns the milliseconds it took. */
  async waitDrained(timeoutMs = 300_000): Promise<number> {
    const started = Date.now();
    const zero = (counts: Backlog) => Object.values(counts).every((n) => n === 0);
    let last: Backlog = {};
    while (Date.now() - started < timeoutMs) {
      last = await this.backlog();
      if (zero(last) && zero(await this.backlog({ exact: true }))) return Date.now() - started;
      await sleep(200);
    }
    throw new Error(`backlog not drained after ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /** Every app process that exited without being asked to. */
  unexpectedExits(): UnexpectedExit[] {
    const everStarted = this.ingest ? [this.ingest, ...this.allSinks] : this.allSinks;

    return everStarted.flatMap((app) => app.unexpectedExits);
  }

  /** Ingest and the sinks running now. */
  private apps(): AppProcess[] {
    return this.ingest ? [this.ingest, ...this.sinks] : [...this.sinks];
  }

  /** Apps first (SIGTERM, they drain), then the servers, then the folder unless `keep`. */
  async stop({ keep = false } = {}): Promise<void> {
    await Promise.all(this.apps().map((app) => app.terminate()));
    this.redis?.disconnect();
    await this.pg?.end().catch(() => undefined);
    await this.database?.close().catch(() => undefined);
    await stopAll();
    if (!keep && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
