/**
 * The durability levels of issue 19 (docs/guarantees.md#durability-levels), against real servers: a Redis master with
 * one replica of its own (AOF on), the run's PostgreSQL, and for `persisted` a sink process (the built app). Ingest
 * runs in-process and is reached through Fastify's inject.
 *
 * Real: ingest app, both Redis servers, PostgreSQL, the sink process. Mocked: nothing.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { documentKeys } from '@app/contracts';
import { AppProcess, type RedisServer, startRedis } from '../tools/local-stack';
import { type ApiResponse, bootIngest, expectProblem, send, type SendOptions } from './utils/api-helpers';
import { expectEventually } from './utils/expect-eventually';
import { metricSum } from './utils/metrics';
import { testServers } from './utils/servers';

const WAIT_TIMEOUT_MS = 1000;
const PERSIST_TIMEOUT_MS = 1500;

const suffix = randomUUID().slice(0, 8);
const DOCS = `dur_docs_${suffix}`;
const EVENTS = `dur_events_${suffix}`;
const newId = () => `d-${randomUUID()}`;

let dir: string;
let master: RedisServer;
let replica: RedisServer;
let redis: Redis;
let onReplica: Redis;
let pg: Pool;
let app: NestFastifyApplication;
let env: Record<string, string>;

const call = (method: 'PUT' | 'POST' | 'PATCH' | 'DELETE' | 'GET', url: string, options?: SendOptions) =>
  send(app, method, url, options);
const asking = (level: string) => ({ headers: { durability: level } });
const put = (id: string, level?: string) =>
  call('PUT', `/v1/${DOCS}/${id}`, { body: { n: 1 }, ...(level ? asking(level) : {}) });
const bulk = (collection: string, body: unknown, level?: string) =>
  call('POST', `/v1/${collection}/_bulk`, { body, ...(level ? asking(level) : {}) });
const docOps = (...ids: string[]) => ({ ops: ids.map((id) => ({ op: 'put', id, doc: { n: 2 } })) });
const events = (...ids: string[]) => ({ events: ids.map((id) => ({ id, kind: 'click' })) });

/** Status, the level named in the Durability header, and how long the answer took. */
async function timed(request: () => Promise<ApiResponse>) {
  const started = Date.now();
  const res = await request();

  return { res, status: res.statusCode, level: res.headers.durability, ms: Date.now() - started };
}

/** The stream length and hash of a document, to show a refused request changed nothing. */
async function snapshot(id: string) {
  const keys = documentKeys({ name: DOCS, partitions: 1 }, id);

  return { stream: await redis.xlen(keys.stream), doc: await redis.hgetall(keys.document) };
}

async function pausedReplica<T>(fn: () => Promise<T>): Promise<T> {
  const pid = replica.pid;
  if (pid === undefined) throw new Error('the replica is not running');
  process.kill(pid, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

const versionInDatabase = async (table: string, id: string): Promise<number | undefined> => {
  const { rows } = await pg.query<{ version: string }>(`SELECT version FROM ${table} WHERE id = $1`, [id]);

  return rows[0] ? Number(rows[0].version) : undefined;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spillway-durability-'));
  master = await startRedis({ dir: join(dir, 'master'), appendOnly: true });
  replica = await startRedis({
    dir: join(dir, 'replica'),
    extraArgs: ['--replicaof', '127.0.0.1', String(master.port)],
  });
  redis = new Redis(master.url, { protocol: 2 });
  onReplica = new Redis(replica.url, { protocol: 2 });
  await expectEventually(async () => {
    expect(await redis.info('replication')).toMatch(/connected_slaves:1/);
    expect(await onReplica.info('replication')).toMatch(/master_link_status:up/);
  });
  const collections = join(dir, 'collections');
  mkdirSync(collections);
  writeFileSync(join(collections, 'docs.yaml'), `name: ${DOCS}\nkind: document\n`);
  writeFileSync(join(collections, 'events.yaml'), `name: ${EVENTS}\nkind: event\n`);
  const servers = testServers();
  pg = new Pool({ connectionString: servers.databaseUrl, max: 2 });
  env = {
    REDIS_URL: master.url,
    DATABASE_URL: servers.databaseUrl,
    COLLECTIONS_DIR: collections,
    INGEST_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
    INGEST_PERSIST_TIMEOUT_MS: String(PERSIST_TIMEOUT_MS),
  };
  app = await bootIngest(env);
});

afterAll(async () => {
  await app?.close();
  redis?.disconnect();
  onReplica?.disconnect();
  await pg?.end();
  await replica?.stop();
  await master?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('durability levels', () => {
  it('answers memory writes as before, naming the level in the Durability header', async () => {
    const id = newId();

    const one = await timed(() => put(id));
    const many = await timed(() => bulk(DOCS, docOps(newId(), newId())));

    expect([one.status, one.level]).toEqual([202, 'memory']);
    expect([many.status, many.level]).toEqual([200, 'memory']);
  });

  it('answers replicated once the replica holds the write, on PUT, PATCH, DELETE, POST and _bulk', async () => {
    const id = newId();

    const answers = [
      await timed(() => put(id, 'replicated')),
      await timed(() => call('PATCH', `/v1/${DOCS}/${id}`, { body: { m: 1 }, ...asking('replicated') })),
      await timed(() => call('POST', `/v1/${EVENTS}`, { body: { id: newId() }, ...asking('replicated') })),
      await timed(() => bulk(DOCS, docOps(newId(), newId(), id), 'replicated')),
      await timed(() => bulk(EVENTS, events(newId(), newId()), 'REPLICATED')),
      await timed(() => call('DELETE', `/v1/${DOCS}/${id}`, asking('replicated'))),
    ];

    expect(answers.map((a) => [a.status, a.level])).toEqual([
      [202, 'replicated'],
      [202, 'replicated'],
      [202, 'replicated'],
      [200, 'replicated'],
      [200, 'replicated'],
      [202, 'replicated'],
    ]);
    // WAIT returned: the replica holds the delete already, without waiting for it.
    expect(await onReplica.hget(documentKeys({ name: DOCS, partitions: 1 }, id).document, 'x')).toBe('1');
  });

  it('confirms concurrent replicated writes together, each with its own answer', async () => {
    const ids = Array.from({ length: 20 }, newId);

    const answers = await Promise.all(ids.map((id) => timed(() => put(id, 'replicated'))));

    expect(answers.map((a) => [a.status, a.level])).toEqual(ids.map(() => [202, 'replicated']));
    for (const id of ids) {
      expect(await onReplica.hget(documentKeys({ name: DOCS, partitions: 1 }, id).document, 'v')).toBe('1');
    }
  });

  it('answers after the wait timeout with the level reached (memory) when the replica does not answer', async () => {
    const id = newId();
    const bulkId = newId();
    const timedOut = async () =>
      metricSum((await call('GET', '/metrics')).body, 'spillway_ingest_durability_total', {
        collection: DOCS,
        requested: 'replicated',
        reached: 'memory',
      });
    const timedOutBefore = await timedOut();

    const [one, many] = await pausedReplica(() =>
      Promise.all([timed(() => put(id, 'replicated')), timed(() => bulk(DOCS, docOps(bulkId), 'replicated'))]),
    );

    expect([one.status, one.level]).toEqual([202, 'memory']);
    expect([many.status, many.level]).toEqual([200, 'memory']);
    expect(one.ms).toBeGreaterThanOrEqual(WAIT_TIMEOUT_MS - 50);
    expect(one.ms).toBeLessThan(WAIT_TIMEOUT_MS * 3);
    expect((await timedOut()) - timedOutBefore).toBe(2);
    // The write happened on the master, and stays.
    expect((await call('GET', `/v1/${DOCS}/${id}`)).statusCode).toBe(200);
    expect((await call('GET', `/v1/${DOCS}/${bulkId}`)).statusCode).toBe(200);
    // Once the replica is back, a replicated write is confirmed again.
    expect((await timed(() => put(newId(), 'replicated'))).level).toBe('replicated');
  });

  it('refuses a Durability header that names no level, changing nothing', async () => {
    const id = newId();
    await put(id);
    const before = await snapshot(id);

    const res = await call('PUT', `/v1/${DOCS}/${id}`, { body: { n: 9 }, headers: { durability: 'disk' } });
    const bulkRes = await bulk(DOCS, docOps(id), 'everything');

    expectProblem(res, 400, 'the Durability header must be one of memory, replicated, aof, persisted, not "disk"');
    expectProblem(bulkRes, 400, /the Durability header must be one of/);
    expect(await snapshot(id)).toEqual(before);
  });

  it('refuses aof on a Redis without WAITAOF, naming its version, changing nothing', async () => {
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '';
    const id = newId();
    await put(id);
    const before = await snapshot(id);

    const res = await call('PUT', `/v1/${DOCS}/${id}`, { body: { n: 9 }, headers: { durability: 'aof' } });
    const bulkRes = await bulk(DOCS, docOps(id), 'aof');

    // Debian 12's Redis is 7.0: this is the refusal; on 7.2 and later the write would wait for WAITAOF instead.
    expect(version).toMatch(/^7\.[01]\./);
    expectProblem(
      res,
      400,
      `the request asks for durability aof, which needs WAITAOF (Redis 7.2 or later); this Redis is ${version}`,
    );
    expectProblem(bulkRes, 400, /needs WAITAOF/);
    expect(await snapshot(id)).toEqual(before);
  });

  it('refuses to start when INGEST_DURABILITY or a collection asks for aof on such a Redis, naming the version', async () => {
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '';
    const aofDir = join(dir, 'aof-collections');
    mkdirSync(aofDir);
    writeFileSync(join(aofDir, 'docs.yaml'), `name: ${DOCS}\nkind: document\ndurability: aof\n`);

    await expect(bootIngest({ ...env, INGEST_DURABILITY: 'aof' })).rejects.toThrow(
      `INGEST_DURABILITY asks for durability aof, which needs WAITAOF (Redis 7.2 or later); this Redis is ${version}`,
    );
    // The built app: exit code 1 and one JSON line on stderr.
    const started = spawnSync(process.execPath, [join(__dirname, '..', 'dist', 'apps', 'ingest', 'main.js')], {
      env: { ...process.env, ...env, INGEST_DURABILITY: 'aof', PORT: '0', LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(started.status).toBe(1);
    const lastLine = JSON.parse(started.stderr.trim().split('\n').at(-1) ?? 'null') as { message: string };
    expect(lastLine.message).toBe(
      `INGEST_DURABILITY asks for durability aof, which needs WAITAOF (Redis 7.2 or later); this Redis is ${version}`,
    );
    await expect(bootIngest({ ...env, COLLECTIONS_DIR: aofDir })).rejects.toThrow(
      new RegExp(
        `collection ${DOCS} \\(.*docs\\.yaml\\) asks for durability aof.*this Redis is ${version.replace(/\./g, '\\.')}`,
      ),
    );
  });

  it('answers persisted without a sink after INGEST_PERSIST_TIMEOUT_MS, naming the level reached', async () => {
    const id = newId();

    const one = await timed(() => put(id, 'persisted'));
    const many = await timed(() => bulk(EVENTS, events(newId()), 'persisted'));

    expect([one.status, one.level]).toEqual([202, 'memory']);
    expect([many.status, many.level]).toEqual([200, 'memory']);
    expect(one.ms).toBeGreaterThanOrEqual(PERSIST_TIMEOUT_MS - 50);
    expect(one.ms).toBeLessThan(PERSIST_TIMEOUT_MS * 3);
    expect((await call('GET', `/v1/${DOCS}/${id}`)).statusCode).toBe(200);
  });

  describe('with a sink', () => {
    let sink: AppProcess;

    beforeAll(async () => {
      sink = new AppProcess('durability-sink', 'sink', {
        ...env,
        SINK_CONSUMER: 'durability-sink',
        SINK_BLOCK_MS: '200',
        LOG_LEVEL: 'warn',
      });
      await sink.start();
      await sink.waitUntilReady(60_000);
      // The backlog of the tests above is written first.
      await expectEventually(async () =>
        expect(await redis.xinfo('GROUPS', documentKeys({ name: DOCS, partitions: 1 }, 'x').stream)).not.toEqual([]),
      );
    }, 90_000);

    afterAll(async () => {
      await sink?.terminate();
    });

    it('answers persisted once the database holds the version, on PUT, DELETE and _bulk', async () => {
      const id = newId();
      const bulkIds = [newId(), newId()];
      const eventIds = [newId(), newId()];

      const one = await timed(() => put(id, 'persisted'));
      const inDatabase = await versionInDatabase(DOCS, id);
      const many = await timed(() => bulk(DOCS, docOps(...bulkIds, id), 'persisted'));
      const inDatabaseAfterBulk = await Promise.all([...bulkIds, id].map((i) => versionInDatabase(DOCS, i)));
      const appended = await timed(() => bulk(EVENTS, events(...eventIds), 'persisted'));
      const { rows } = await pg.query<{ id: string }>(`SELECT id FROM ${EVENTS} WHERE id = ANY($1)`, [eventIds]);
      const removed = await timed(() => call('DELETE', `/v1/${DOCS}/${id}`, asking('persisted')));

      expect([one.status, one.level, inDatabase]).toEqual([202, 'persisted', 1]);
      expect([many.status, many.level, inDatabaseAfterBulk]).toEqual([200, 'persisted', [1, 1, 2]]);
      expect([appended.status, appended.level, rows.length]).toEqual([200, 'persisted', 2]);
      expect([removed.status, removed.level]).toEqual([202, 'persisted']);
      expect(await versionInDatabase(DOCS, id)).toBeUndefined();
    });

    it('answers concurrent persisted writes each once its own version is committed', async () => {
      const ids = Array.from({ length: 30 }, newId);

      const answers = await Promise.all(ids.map((id) => timed(() => put(id, 'persisted'))));

      expect(answers.map((a) => [a.status, a.level])).toEqual(ids.map(() => [202, 'persisted']));
      expect(await Promise.all(ids.map((id) => versionInDatabase(DOCS, id)))).toEqual(ids.map(() => 1));
    });
  });
});
