import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { partitionKeys } from '@app/contracts';
import { createIngestApp } from '../../apps/ingest/src/ingest.app';
import { testServers } from './servers';

export interface Reply {
  status: number;
  body: { id: string; version: number } & Record<string, unknown>;
}

/**
 * Fresh collections (a document and an event one, unique names) with an in-process ingest app,
 * direct Redis and PostgreSQL clients, and the environment a sink process needs to serve them.
 */
export class PipelineFixture {
  readonly docs = `pl_docs_${Math.random().toString(36).slice(2, 8)}`;
  readonly events = `pl_events_${Math.random().toString(36).slice(2, 8)}`;
  readonly redis: Redis;
  readonly pg: Pool;
  readonly sinkEnv: Record<string, string>;
  private readonly dir: string;
  private app?: NestFastifyApplication;
  private readonly savedEnv = { ...process.env };

  constructor(sinkSettings: Record<string, string> = {}) {
    const servers = testServers();
    this.dir = mkdtempSync(join(tmpdir(), 'spillway-collections-'));
    writeFileSync(
      join(this.dir, 'docs.yaml'),
      `name: ${this.docs}\nkind: document\nschema:\n  type: object\n  required: [owner]\n`,
    );
    writeFileSync(join(this.dir, 'events.yaml'), `name: ${this.events}\nkind: event\n`);
    this.redis = new Redis(servers.redisUrl, { protocol: 2 });
    this.pg = new Pool({ connectionString: servers.databaseUrl, max: 2 });
    // Some specs stop PostgreSQL on purpose; an idle client dropping then is expected.
    this.pg.on('error', () => undefined);
    this.sinkEnv = {
      REDIS_URL: servers.redisUrl,
      DATABASE_URL: servers.databaseUrl,
      COLLECTIONS_DIR: this.dir,
      SINK_BLOCK_MS: '200',
      SINK_BATCH_SIZE: '100',
      SINK_CLAIM_IDLE_MS: '1500',
      SINK_SHUTDOWN_MS: '5000',
      ...sinkSettings,
    };
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
    this.app = await createIngestApp();
    await this.app.init();
    await this.app.getHttpAdapter().getInstance().ready();
  }

  async close(): Promise<void> {
    await this.app?.close();
    process.env = this.savedEnv;
    this.redis.disconnect();
    await this.pg.end();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async request(method: 'PUT' | 'PATCH' | 'DELETE' | 'POST', url: string, body?: unknown): Promise<Reply> {
    const response = await this.app!.inject({
      method,
      url,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });

    return { status: response.statusCode, body: response.json() };
  }

  stream(collection: string): string {
    return partitionKeys(collection).stream;
  }

  /** Entries not yet acked by the group: undelivered plus pending. */
  async backlog(collection: string): Promise<number> {
    const stream = this.stream(collection);
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
    const keys = partitionKeys(this.docs);
    const prefix = keys.document('');
    const found = new Map<string, { version: number; doc: unknown }>();
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(
        cursor,
        'MATCH',
        `${prefix.replace(/[{}]/g, '\\$&')}*`,
        'COUNT',
        1000,
      );
      cursor = next;
      for (const key of batch) {
        const [v, d, x] = await this.redis.hmget(key, 'v', 'd', 'x');
        if (x !== '1' && d !== null && d !== undefined) {
          found.set(key.slice(prefix.length), { version: Number(v), doc: JSON.parse(d) });
        }
      }
    } while (cursor !== '0');

    return found;
  }

  async tableRows(): Promise<Map<string, { version: number; doc: unknown }>> {
    const { rows } = await this.pg.query<{ id: string; version: string; doc: unknown }>(
      `SELECT id, version, doc FROM "${this.docs}"`,
    );

    return new Map(rows.map((r) => [r.id, { version: Number(r.version), doc: r.doc }]));
  }

  async eventIds(): Promise<string[]> {
    const { rows } = await this.pg.query<{ id: string }>(`SELECT id FROM "${this.events}" ORDER BY id`);

    return rows.map((r) => r.id);
  }
}
