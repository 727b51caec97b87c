import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Cluster, Redis } from 'ioredis';
import { Pool } from 'pg';
import { allPartitions, DEFAULT_SINK_GROUP, documentKeys, type PartitionKeys } from '@app/contracts';
import { forEachKeyWithPrefix, type RedisClient } from '@app/redis';
import { createIngestApp } from '../../apps/ingest/src/ingest.app';
import { AppProcess, type DatabaseReader, type DatabaseServer, type RedisClusterServer } from '../../tools/local-stack';
import { testDatabase, testServers } from './servers';

export interface Reply {
  status: number;
  body: { id: string; version: number } & Record<string, unknown>;
}

/**
 * Fresh collections (a document and an event one, unique names) with an in-process ingest app, a direct Redis client,
 * a reader on the database under test, and the environment a sink process needs to serve them there. With a Redis
 * Cluster, ingest, the sinks and the direct client use it (REDIS_CLUSTER_NODES) instead of the run's Redis.
 */
export class PipelineFixture {
  readonly docs = `pl_docs_${Math.random().toString(36).slice(2, 8)}`;
  readonly events = `pl_events_${Math.random().toString(36).slice(2, 8)}`;
  /** the run's Redis, or a cluster client on the fixture's cluster */
  readonly redis: RedisClient;
  /** reads the database under test (the collections' state tables are in its `public`) */
  readonly db: DatabaseReader;
  readonly sinkEnv: Record<string, string>;
  private readonly dir: string;
  private app?: NestFastifyApplication;
  private pgPool?: Pool;
  private readonly savedEnv = { ...process.env };

  /**
   * `database`: the one ingest and the sinks use (DATABASE_URL); default the run's PostgreSQL. `partitions`: both
   * collection files' `partitions:`. `cluster`: a Redis Cluster (tools/local-stack startRedisCluster()) to use.
   */
  constructor(
    sinkSettings: Record<string, string> = {},
    readonly database: DatabaseServer = testDatabase('postgres'),
    readonly partitions = 1,
    private readonly cluster?: Pick<RedisClusterServer, 'seedNodes' | 'startupNodes'>,
  ) {
    const servers = testServers();
    this.dir = mkdtempSync(join(tmpdir(), 'spillway-collections-'));
    writeFileSync(
      join(this.dir, 'docs.yaml'),
      `name: ${this.docs}\nkind: document\npartitions: ${partitions}\nschema:\n  type: object\n  required: [owner]\n`,
    );
    writeFileSync(join(this.dir, 'events.yaml'), `name: ${this.events}\nkind: event\npartitions: ${partitions}\n`);
    this.redis = cluster
      ? new Cluster(cluster.startupNodes, { redisOptions: { protocol: 2 } })
      : new Redis(servers.redisUrl, { protocol: 2 });
    this.db = database.reader();
    this.sinkEnv = {
      REDIS_URL: servers.redisUrl,
      ...(cluster ? { REDIS_CLUSTER_NODES: cluster.seedNodes } : {}),
      DATABASE_URL: database.url,
      COLLECTIONS_DIR: this.dir,
      SINK_BLOCK_MS: '200',
      SINK_BATCH_SIZE: '100',
      SINK_CLAIM_IDLE_MS: '1500',
      SINK_SHUTDOWN_MS: '5000',
      ...sinkSettings,
    };
  }

  /**
   * A pool on the run's PostgreSQL whatever the fixture's database, for specs that check it beside another one (named
   * connections); made on first use.
   */
  get pg(): Pool {
    if (!this.pgPool) {
      this.pgPool = new Pool({ connectionString: testServers().databaseUrl, max: 2 });
      // Some specs stop PostgreSQL on purpose; an idle client dropping then is expected.
      this.pgPool.on('error', () => undefined);
    }

    return this.pgPool;
  }

  /** The folder of the collection files (COLLECTIONS_DIR of ingest and of the sinks). */
  get collectionsDir(): string {
    return this.dir;
  }

  /**
   * Appends top-level YAML (e.g. `transform:` and `output:` blocks) to the document collection's file. Call it before
   * {@link start} and before any sink starts: they read the file once, at start.
   */
  appendToDocsFile(yaml: string): void {
    appendFileSync(join(this.dir, 'docs.yaml'), yaml.endsWith('\n') ? yaml : `${yaml}\n`);
  }

  async start(): Promise<void> {
    process.env.COLLECTIONS_DIR = this.dir;
    process.env.DATABASE_URL = this.database.url;
    if (this.cluster) process.env.REDIS_CLUSTER_NODES = this.cluster.seedNodes;
    this.app = await createIngestApp();
    await this.app.init();
    await this.app.getHttpAdapter().getInstance().ready();
  }

  /** The sink processes {@link startSink} started and {@link close} has not stopped yet. */
  readonly sinks: AppProcess[] = [];

  /**
   * Starts a sink process (the built app) on the fixture's collections, logging at 'log' so that its output tells what
   * it did; `name` is its consumer name (default `sink-<n>`), `env` added settings. Resolves once it is ready.
   */
  async startSink(env: Record<string, string> = {}, name = `sink-${this.sinks.length}`): Promise<AppProcess> {
    const sink = new AppProcess(name, 'sink', { ...this.sinkEnv, SINK_CONSUMER: name, LOG_LEVEL: 'log', ...env });
    this.sinks.push(sink);
    await sink.start();
    await sink.waitUntilReady(60_000);

    return sink;
  }

  /** Stops (SIGTERM) every sink still running, ingest, and the clients; removes the collection files. */
  async close(): Promise<void> {
    await Promise.all(this.sinks.splice(0).map((s) => s.terminate()));
    await this.app?.close();
    process.env = this.savedEnv;
    this.redis.disconnect();
    await this.db.close();
    await this.pgPool?.end();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async request(method: 'PUT' | 'PATCH' | 'DELETE' | 'POST' | 'GET', url: string, body?: unknown): Promise<Reply> {
    const response = await this.app!.inject({
      method,
      url,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });

    return { status: response.statusCode, body: response.json() };
  }

  /** The keys of each partition of one of the fixture's collections. */
  partitionsOf(collection: string): PartitionKeys[] {
    return allPartitions({ name: collection, partitions: this.partitions });
  }

  /** The stream an id of one of the fixture's collections is written to. */
  streamOf(collection: string, id: string): string {
    return documentKeys({ name: collection, partitions: this.partitions }, id).stream;
  }

  /** Entries a consumer holds delivered and unacked in the default group, over every partition (up to 1000 each). */
  async heldBy(collection: string, consumer: string): Promise<number> {
    let held = 0;
    for (const { stream } of this.partitionsOf(collection)) {
      held += (await this.redis.xpending(stream, DEFAULT_SINK_GROUP, '-', '+', 1000, consumer)).length;
    }

    return held;
  }

  /** Entries not yet acked by the groups, over every partition: undelivered plus pending. */
  async backlog(collection: string): Promise<number> {
    let total = 0;
    for (const { stream } of this.partitionsOf(collection)) total += await this.partitionBacklog(stream);

    return total;
  }

  private async partitionBacklog(stream: string): Promise<number> {
    const groups = (await this.redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
    if (groups.length === 0) {
      return this.redis.xlen(stream);
    }
    let total = 0;
    for (const group of groups) {
      const field = (name: string) => group[group.indexOf(name) + 1];
      const undelivered = await this.redis.xrange(stream, `(${String(field('last-delivered-id'))}`, '+');
      total += Number(field('pending')) + undelivered.length;
    }

    return total;
  }

  /** Live documents in Redis: id → { version, doc }. */
  async redisDocuments(): Promise<Map<string, { version: number; doc: unknown }>> {
    const found = new Map<string, { version: number; doc: unknown }>();
    for (const keys of this.partitionsOf(this.docs)) await this.scanDocuments(keys.document(''), found);

    return found;
  }

  private async scanDocuments(prefix: string, found: Map<string, { version: number; doc: unknown }>): Promise<void> {
    await forEachKeyWithPrefix(this.redis, prefix, async (batch) => {
      for (const key of batch) {
        const [v, d, x] = await this.redis.hmget(key, 'v', 'd', 'x');
        if (x !== '1' && d !== null && d !== undefined) {
          found.set(key.slice(prefix.length), { version: Number(v), doc: JSON.parse(d) });
        }
      }
    });
  }

  /** The document collection's state table: id → { version, doc (parsed) }. */
  async tableRows(): Promise<Map<string, { version: number; doc: unknown }>> {
    const rows = await this.db.rows<{ id: string; version: string; doc: unknown }>(this.docs, {
      columns: ['id', 'version', 'doc'],
    });

    return new Map(rows.map((r) => [r.id, { version: Number(r.version), doc: r.doc }]));
  }

  /** The event collection's ids, sorted. */
  async eventIds(): Promise<string[]> {
    const rows = await this.db.rows<{ id: string }>(this.events, { columns: ['id'] });

    return rows.map((r) => r.id).sort();
  }
}
