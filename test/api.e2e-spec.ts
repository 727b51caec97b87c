/**
 * The ingest HTTP API of CONTRACT.md section 3, checked as a user would: every route, every error status,
 * against the real Redis and databases that test/global-setup.ts starts, once with PostgreSQL behind ingest and once
 * with MariaDB (read-through and version floors come from there), then once more on a Redis Cluster (3 masters, 3
 * replicas, started for that run) with every collection in 8 partitions and PostgreSQL behind ingest. The app runs
 * in-process and is reached through Fastify's inject. No sink runs here, so stream entries stay unacked.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type DatabaseKind, type RedisClusterServer, startRedisCluster } from '../tools/local-stack';
import { MAX_DOCUMENT_DEPTH } from '@app/contracts';
import {
  type ApiResponse,
  bootIngest,
  expectAccepted,
  expectProblem,
  expectRawProblem,
  metricSamples,
  type Method,
  openProbeClient,
  type RedisSnapshot,
  send,
  sendRaw,
  type SendOptions,
  setEnv,
  startStoppableServer,
  StoreProbe,
  stoppableCluster,
  type StoppableRedis,
} from './utils/api-helpers';
import { forEachStore } from './utils/dialects';
import { expectEventually } from './utils/expect-eventually';
import { testServers } from './utils/servers';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const newId = (): string => `t-${randomUUID()}`;
const session = (extra: Record<string, unknown> = {}) => ({ userId: 'u-1', status: 'active', ...extra });
const click = (id: string) => ({ id, sessionId: 's-1', screen: 'home' });

/** The sessions state table as a user creates it in each database (CONTRACT.md section 4), and a row's insert. */
const SESSIONS_TABLE: Readonly<Record<DatabaseKind, { create: string; insert: string }>> = {
  postgres: {
    create: `CREATE TABLE IF NOT EXISTS sessions (
      id text PRIMARY KEY, version bigint NOT NULL, doc jsonb NOT NULL,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`,
    insert: 'INSERT INTO sessions (id, version, doc, created_at, updated_at) VALUES ($1, $2, $3, now(), now())',
  },
  mariadb: {
    create: `CREATE TABLE IF NOT EXISTS sessions (
      id varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, version bigint NOT NULL, doc json NOT NULL,
      created_at datetime(6) NOT NULL, updated_at datetime(6) NOT NULL)`,
    insert: 'INSERT INTO sessions (id, version, doc, created_at, updated_at) VALUES (?, ?, ?, NOW(6), NOW(6))',
  },
};

let app: NestFastifyApplication;
/** Redis as the running variant's app uses it: the run's server, or the variant's cluster with its partitions */
let probe: StoreProbe;

const call = (method: Method, url: string, options?: SendOptions): Promise<ApiResponse> =>
  send(app, method, url, options);
const put = (id: string, body: unknown, headers?: Record<string, string>) =>
  call('PUT', `/v1/sessions/${id}`, { body, headers });
const get = (id: string) => call('GET', `/v1/sessions/${id}`);

/** Creates a session and returns its id. */
async function seed(doc: Record<string, unknown> = session()): Promise<string> {
  const id = newId();
  expectAccepted(await put(id, doc), id, 1);

  return id;
}

/**
 * Sends a request that must be refused with `status`, and checks that the sessions stream and the document's
 * hash are exactly as before.
 */
async function expectRefused(
  id: string,
  request: () => Promise<ApiResponse>,
  status: number,
  detail?: RegExp | string,
  collection = 'sessions',
): Promise<ApiResponse> {
  const before = await probe.snapshot(collection, id);
  const res = await request();
  expectProblem(res, status, detail);
  expect(await probe.snapshot(collection, id)).toEqual(before);

  return res;
}

/**
 * Sends a _bulk whose second item is refused: that item alone fails with 400 in its own result, and the items
 * named by `written` (the others) are applied, each once, and readable.
 */
async function expectBulkItemFailsAlone(
  collection: 'sessions' | 'clicks',
  body: { ops: unknown[] } | { events: unknown[] },
  written: string[],
  detail: RegExp,
): Promise<void> {
  const before = await probe.streamLength(collection);
  const res = await call('POST', `/v1/${collection}/_bulk`, { body });
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
  const [first, ...rest] = written;
  expect(res.json()).toEqual({
    results: [
      { id: first, version: 1 },
      { error: { status: 400, detail: expect.stringMatching(detail) } },
      ...rest.map((id) => ({ id, version: 1 })),
    ],
  });
  expect(await probe.streamLength(collection)).toBe(before + written.length);
  for (const id of written) {
    const read = await call('GET', `/v1/${collection}/${id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ id });
  }
}

forEachStore(({ database, clusterPartitions }) => {
  let restoreEnv: (() => void) | undefined;
  /** the variant's Redis Cluster; undefined on the run's single Redis */
  let cluster: RedisClusterServer | undefined;

  // Every app this suite boots (here and in the describes below) reads this database, and this Redis.
  beforeAll(async () => {
    if (clusterPartitions === undefined) {
      probe = new StoreProbe(await openProbeClient({ url: testServers().redisUrl }), 1);
      restoreEnv = setEnv({ DATABASE_URL: database.url });
    } else {
      cluster = await startRedisCluster();
      probe = new StoreProbe(await openProbeClient({ cluster }), clusterPartitions);
      restoreEnv = setEnv({
        DATABASE_URL: database.url,
        REDIS_CLUSTER_NODES: cluster.seedNodes,
        SPILLWAY_PARTITIONS: String(clusterPartitions),
        // Nothing listens there: an app that used REDIS_URL's server rather than the cluster would fail every test.
        REDIS_URL: 'redis://127.0.0.1:1',
      });
    }
    app = await bootIngest();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    probe?.disconnect();
    restoreEnv?.();
    await cluster?.stop();
  });

  describe('PUT /v1/{collection}/{id}', () => {
    it('creates with version 1, replaces with version 2, and GET serves the current document with its ETag', async () => {
      const id = newId();
      expectAccepted(await put(id, session({ amount: 10 })), id, 1);
      expectAccepted(await put(id, session({ amount: 20, status: 'idle' })), id, 2);

      const res = await get(id);
      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe('"2"');
      expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
      expect(res.json()).toEqual({ id, userId: 'u-1', status: 'idle', amount: 20 });
    });

    it('puts each accepted write on the stream and in the document hash', async () => {
      const id = newId();
      const stream = probe.streamOf('sessions', id);
      const [before, total] = [await probe.redis.xlen(stream), await probe.streamLength('sessions')];
      expectAccepted(await put(id, session()), id, 1);
      expect(await probe.redis.xlen(stream)).toBe(before + 1);
      expect(await probe.streamLength('sessions')).toBe(total + 1);
      expect(await probe.existing(probe.docKey('sessions', id))).toBe(1);
    });
  });

  describe('GET /v1/{collection}/{id}', () => {
    it('answers 404 for an id that was never written', async () => {
      expectProblem(await get(newId()), 404);
    });
  });

  describe('PATCH /v1/{collection}/{id}', () => {
    it('merges nested objects, removes fields set to null, and bumps the version', async () => {
      const id = await seed(session({ device: { type: 'ios', model: 'iPhone 15' }, amount: 5 }));

      const res = await call('PATCH', `/v1/sessions/${id}`, {
        body: { device: { model: 'iPhone 16' }, amount: null, status: 'idle' },
      });
      expectAccepted(res, id, 2);

      const after = await get(id);
      expect(after.headers.etag).toBe('"2"');
      expect(after.json()).toEqual({ id, userId: 'u-1', status: 'idle', device: { type: 'ios', model: 'iPhone 16' } });
    });

    it('answers 404 for a missing id and writes nothing', async () => {
      const id = newId();
      await expectRefused(id, () => call('PATCH', `/v1/sessions/${id}`, { body: { status: 'idle' } }), 404);
    });
  });

  describe('DELETE /v1/{collection}/{id}', () => {
    it('deletes (GET 404), and a later PUT continues above the delete version', async () => {
      const id = await seed();
      expectAccepted(await put(id, session({ status: 'idle' })), id, 2);

      expectAccepted(await call('DELETE', `/v1/sessions/${id}`), id, 3);
      expectProblem(await get(id), 404);

      const version = expectAccepted(await put(id, session()), id);
      expect(version).toBe(4);
      expect((await get(id)).headers.etag).toBe('"4"');
    });

    it('answers 404 for a missing id, and for one already deleted, and writes nothing', async () => {
      const missing = newId();
      await expectRefused(missing, () => call('DELETE', `/v1/sessions/${missing}`), 404);

      const id = await seed();
      expectAccepted(await call('DELETE', `/v1/sessions/${id}`), id, 2);
      await expectRefused(id, () => call('DELETE', `/v1/sessions/${id}`), 404);
    });
  });

  describe('POST /v1/{collection}', () => {
    it('creates a document under the id in its key field', async () => {
      const id = newId();
      expectAccepted(await call('POST', '/v1/sessions', { body: session({ id }) }), id, 1);
      expect((await get(id)).json()).toEqual({ id, userId: 'u-1', status: 'active' });
    });

    it('creates a document under a new UUIDv7 when the body names no id', async () => {
      const res = await call('POST', '/v1/sessions', { body: session() });
      const { id } = res.json<{ id: string }>();
      expectAccepted(res, UUID_V7, 1);

      const stored = await get(id);
      expect(stored.statusCode).toBe(200);
      expect(stored.json()).toEqual({ id, userId: 'u-1', status: 'active' });
    });

    it('appends an event with version 1, and an event id sent twice only once', async () => {
      const id = newId();
      const stream = probe.streamOf('clicks', id);
      const [before, total] = [await probe.redis.xlen(stream), await probe.streamLength('clicks')];

      expectAccepted(await call('POST', '/v1/clicks', { body: click(id) }), id, 1);
      expectAccepted(await call('POST', '/v1/clicks', { body: click(id) }), id, 1);

      expect(await probe.redis.xlen(stream)).toBe(before + 1);
      expect(await probe.streamLength('clicks')).toBe(total + 1);
    });

    it('appends an event under a new UUIDv7 when the body names no id', async () => {
      const before = await probe.streamLength('clicks');
      const res = await call('POST', '/v1/clicks', { body: { sessionId: 's-1', screen: 'pay' } });
      expectAccepted(res, UUID_V7, 1);
      expect(await probe.streamLength('clicks')).toBe(before + 1);
    });
  });

  describe('GET /v1/{collection}?ids=', () => {
    it('answers the documents found and the ids missing', async () => {
      const a = await seed(session({ amount: 1 }));
      const c = await seed(session({ amount: 3 }));
      const b = newId();

      const res = await call('GET', `/v1/sessions?ids=${a},${b},${c}`);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ items: unknown[]; missing: string[] }>();
      expect(body.items).toEqual([
        { id: a, userId: 'u-1', status: 'active', amount: 1 },
        { id: c, userId: 'u-1', status: 'active', amount: 3 },
      ]);
      expect(body.missing).toEqual([b]);
    });

    it('reports a deleted document as missing', async () => {
      const id = await seed();
      expectAccepted(await call('DELETE', `/v1/sessions/${id}`), id, 2);
      expect((await call('GET', `/v1/sessions?ids=${id}`)).json()).toEqual({ items: [], missing: [id] });
    });

    it('takes 1,000 ids, and answers 400 for 1,001', async () => {
      const ids = Array.from({ length: 1001 }, (_, i) => `t-many-${i}-${randomBytes(4).toString('hex')}`);

      const thousand = await call('GET', `/v1/sessions?ids=${ids.slice(0, 1000).join(',')}`);
      expect(thousand.statusCode).toBe(200);
      expect(thousand.json().missing).toHaveLength(1000);

      expectProblem(await call('GET', `/v1/sessions?ids=${ids.join(',')}`), 400);
    });
  });

  describe('POST /v1/{collection}/_bulk', () => {
    it('applies put, patch and delete, with a per-item 404 and schema error while the others succeed', async () => {
      const created = newId();
      const patched = await seed(session({ device: { type: 'web', model: 'Firefox' } }));
      const deleted = await seed();
      const missing = newId();
      const invalid = newId();
      const before = await probe.streamLength('sessions');

      const res = await call('POST', '/v1/sessions/_bulk', {
        body: {
          ops: [
            { op: 'put', id: created, doc: session() },
            { op: 'patch', id: patched, doc: { device: { model: 'Chrome' } } },
            { op: 'delete', id: deleted },
            { op: 'patch', id: missing, doc: { status: 'idle' } },
            { op: 'put', id: invalid, doc: { status: 'active' } },
          ],
        },
      });

      expect(res.statusCode).toBe(200);
      const { results } = res.json<{ results: any[] }>();
      expect(results).toHaveLength(5);
      expect(results.slice(0, 3)).toEqual([
        { id: created, version: 1 },
        { id: patched, version: 2 },
        { id: deleted, version: 2 },
      ]);
      expect(results[3]).toEqual({ error: { status: 404, detail: expect.stringMatching(/\S/) } });
      expect(results[4]).toEqual({ error: { status: 400, detail: expect.stringMatching(/userId/) } });

      expect(await probe.streamLength('sessions')).toBe(before + 3);
      expect((await get(created)).json()).toEqual({ id: created, userId: 'u-1', status: 'active' });
      expect((await get(patched)).json()).toEqual({
        id: patched,
        userId: 'u-1',
        status: 'active',
        device: { type: 'web', model: 'Chrome' },
      });
      expectProblem(await get(deleted), 404);
      expect(await probe.existing(probe.docKey('sessions', missing), probe.docKey('sessions', invalid))).toBe(0);
    });

    it('appends events, each id once', async () => {
      const [e1, e2] = [newId(), newId()];
      const before = await probe.streamLength('clicks');

      const res = await call('POST', '/v1/clicks/_bulk', { body: { events: [click(e1), click(e2), click(e1)] } });

      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        results: [
          { id: e1, version: 1 },
          { id: e2, version: 1 },
          { id: e1, version: 1 },
        ],
      });
      expect(await probe.streamLength('clicks')).toBe(before + 2);
    });

    it.each([
      ['an unknown op', { op: 'upsert', id: 'x1', doc: session() }, /ops\[1\]\.op must be "put", "patch" or "delete"/],
      ['a number', 1, /ops\[1\] must be a JSON object/],
      ['null', null, /ops\[1\] must be a JSON object/],
    ])('an op that is %s fails alone, the others are applied', async (_what, item, detail) => {
      const [good1, good2] = [newId(), newId()];
      await expectBulkItemFailsAlone(
        'sessions',
        { ops: [{ op: 'put', id: good1, doc: session() }, item, { op: 'put', id: good2, doc: session() }] },
        [good1, good2],
        detail,
      );
    });

    it.each([
      ['a number', 1],
      ['null', null],
      ['a string', 'x'],
    ])('an event that is %s fails alone, the others are applied', async (_what, item) => {
      const [event1, event2] = [newId(), newId()];
      await expectBulkItemFailsAlone(
        'clicks',
        { events: [click(event1), item, click(event2)] },
        [event1, event2],
        /must be a JSON object/,
      );
    });

    it('answers 400 for more than 1,000 items and writes nothing', async () => {
      const id = newId();
      const ops = Array.from({ length: 1001 }, () => ({ op: 'put', id, doc: session() }));
      await expectRefused(id, () => call('POST', '/v1/sessions/_bulk', { body: { ops } }), 400);
    });
  });

  describe('If-Match', () => {
    it('PUT: a matching version is accepted, a stale one is 412 and changes nothing', async () => {
      const id = await seed();
      expectAccepted(await put(id, session({ amount: 2 }), { 'if-match': '"1"' }), id, 2);
      await expectRefused(id, () => put(id, session({ amount: 3 }), { 'if-match': '"1"' }), 412);
      expect((await get(id)).json().amount).toBe(2);
    });

    it('PATCH: a matching version is accepted, a stale one is 412 and changes nothing', async () => {
      const id = await seed();
      expectAccepted(
        await call('PATCH', `/v1/sessions/${id}`, { body: { amount: 2 }, headers: { 'if-match': '"1"' } }),
        id,
        2,
      );
      await expectRefused(
        id,
        () => call('PATCH', `/v1/sessions/${id}`, { body: { amount: 3 }, headers: { 'if-match': '"1"' } }),
        412,
      );
      expect((await get(id)).json().amount).toBe(2);
    });

    it('DELETE: a stale version is 412 and changes nothing, a matching one is accepted', async () => {
      const id = await seed();
      expectAccepted(await put(id, session({ amount: 2 })), id, 2);
      await expectRefused(id, () => call('DELETE', `/v1/sessions/${id}`, { headers: { 'if-match': '"1"' } }), 412);
      expect((await get(id)).statusCode).toBe(200);
      expectAccepted(await call('DELETE', `/v1/sessions/${id}`, { headers: { 'if-match': '"2"' } }), id, 3);
      expectProblem(await get(id), 404);
    });
  });

  describe('errors: 400', () => {
    it.each([
      ['PUT', 'truncated object', '{"userId": "u-1"'],
      ['PUT', 'trailing garbage', '{"userId": "u-1"} x'],
      ['PUT', 'single quotes', "{'userId': 'u-1'}"],
      ['PATCH', 'truncated object', '{"status":'],
      ['POST', 'truncated object', '{"userId": '],
    ] as const)('malformed JSON (%s, %s)', async (method, _what, raw) => {
      const id = await seed();
      const url = method === 'POST' ? '/v1/sessions' : `/v1/sessions/${id}`;
      await expectRefused(id, () => call(method, url, { raw }), 400);
    });

    it.each([
      ['an array', '[{"userId":"u-1"}]'],
      ['a string', '"u-1"'],
      ['a number', '42'],
      ['null', 'null'],
    ])('a body that is %s (PUT, PATCH, POST, _bulk)', async (_what, raw) => {
      const id = await seed();
      await expectRefused(id, () => call('PUT', `/v1/sessions/${id}`, { raw }), 400, /object/);
      await expectRefused(id, () => call('PATCH', `/v1/sessions/${id}`, { raw }), 400, /object/);
      await expectRefused(id, () => call('POST', '/v1/sessions', { raw }), 400, /object/);
      await expectRefused(id, () => call('POST', '/v1/sessions/_bulk', { raw }), 400);
      await expectRefused(id, () => call('POST', '/v1/clicks', { raw }), 400, /object/, 'clicks');
    });

    const badIds = [
      ['201 characters', 'x'.repeat(201), 'x'.repeat(201)],
      ['a space', 'a%20b', 'a b'],
      ['an encoded slash', 'a%2Fb', 'a/b'],
      ['unicode', '%C3%A9t%C3%A9', 'été'],
      ['a percent sign', 'a%25b', 'a%b'],
      ['a NUL', 'a%00b', 'a\u0000b'],
      ['5,000 characters', 'y'.repeat(5000), 'y'.repeat(5000)],
    ];

    it.each(badIds)('an id with %s in the URL', async (_what, inUrl, raw) => {
      await expectRefused(raw, () => call('PUT', `/v1/sessions/${inUrl}`, { body: session() }), 400, /id/);
      await expectRefused(raw, () => call('PATCH', `/v1/sessions/${inUrl}`, { body: { status: 'idle' } }), 400, /id/);
      await expectRefused(raw, () => call('DELETE', `/v1/sessions/${inUrl}`), 400, /id/);
      expectProblem(await call('GET', `/v1/sessions/${inUrl}`), 400, /id/);
      expectProblem(await call('GET', `/v1/sessions?ids=ok-1,${inUrl}`), 400, /id/);
    });

    it.each(badIds)('an id with %s in the body (POST)', async (_what, _inUrl, raw) => {
      await expectRefused(raw, () => call('POST', '/v1/sessions', { body: session({ id: raw }) }), 400, /id/);
      await expectRefused(
        raw,
        () => call('POST', '/v1/clicks', { body: { ...click('x'), id: raw } }),
        400,
        /id/,
        'clicks',
      );
    });

    it.each(badIds)(
      'an id with %s in one _bulk item fails that item alone (ops and events)',
      async (_what, _inUrl, raw) => {
        const [good1, good2] = [newId(), newId()];
        await expectBulkItemFailsAlone(
          'sessions',
          {
            ops: [
              { op: 'put', id: good1, doc: session() },
              { op: 'put', id: raw, doc: session() },
              { op: 'put', id: good2, doc: session() },
            ],
          },
          [good1, good2],
          /ops\[1\]\.id must be/,
        );
        const [event1, event2] = [newId(), newId()];
        await expectBulkItemFailsAlone(
          'clicks',
          { events: [click(event1), { ...click('x'), id: raw }, click(event2)] },
          [event1, event2],
          /field "id" must be/,
        );
      },
    );

    it('accepts an id of exactly 200 characters of the allowed set', async () => {
      const id = `t-${randomBytes(8).toString('hex')}.A_z:0-`.padEnd(200, 'x');
      expectAccepted(await put(id, session()), id, 1);
    });

    it('a document without the required userId names the field', async () => {
      const id = newId();
      await expectRefused(id, () => put(id, { status: 'active' }), 400, /userId/);
      await expectRefused(id, () => call('POST', '/v1/sessions', { body: { id, status: 'active' } }), 400, /userId/);
    });

    it('a device.type outside the enum names the path', async () => {
      const id = await seed(session({ device: { type: 'ios' } }));
      await expectRefused(id, () => put(id, session({ device: { type: 'blackberry' } })), 400, /device[./]type/);
      await expectRefused(
        id,
        () => call('PATCH', `/v1/sessions/${id}`, { body: { device: { type: 'blackberry' } } }),
        400,
        /device[./]type/,
      );
    });

    it('a PATCH that removes a required field is a schema violation', async () => {
      const id = await seed();
      await expectRefused(id, () => call('PATCH', `/v1/sessions/${id}`, { body: { userId: null } }), 400, /userId/);
    });

    it('an event without its required fields names the field', async () => {
      const id = newId();
      await expectRefused(
        id,
        () => call('POST', '/v1/clicks', { body: { id, sessionId: 's-1' } }),
        400,
        /screen/,
        'clicks',
      );
    });

    it('a body id that differs from the URL id', async () => {
      const id = await seed();
      await expectRefused(id, () => put(id, session({ id: newId() })), 400);
    });
  });

  describe('errors: 400 If-Match that is not a version', () => {
    it.each(['*', '"1", "2"', '"-1"', '"1.5"', '"abc"', '"1234567890123456"', '""', 'W/'])(
      'If-Match: %s on PUT, PATCH, DELETE',
      async (value) => {
        const id = await seed();
        const headers = { 'if-match': value };
        await expectRefused(id, () => put(id, session({ amount: 1 }), headers), 400, /If-Match/);
        await expectRefused(
          id,
          () => call('PATCH', `/v1/sessions/${id}`, { body: { amount: 1 }, headers }),
          400,
          /If-Match/,
        );
        await expectRefused(id, () => call('DELETE', `/v1/sessions/${id}`, { headers }), 400, /If-Match/);
      },
    );

    it.each(['-1', '1.5', '"1"', '1e400'])('"ifMatch": %s in a _bulk op fails that op alone', async (ifMatch) => {
      const id = await seed();
      const good = newId();
      const before = await probe.snapshot('sessions', id);
      const raw =
        `{"ops":[{"op":"put","id":"${good}","doc":{"userId":"u-1"}},` +
        `{"op":"put","id":"${id}","doc":{"userId":"u-2"},"ifMatch":${ifMatch}}]}`;
      const res = await call('POST', '/v1/sessions/_bulk', { raw });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        results: [{ id: good, version: 1 }, { error: { status: 400, detail: expect.stringMatching(/ifMatch/) } }],
      });
      // Only the good op's entry was added; the refused op's document is as it was.
      expect(await probe.snapshot('sessions', id)).toEqual({ ...before, streamLength: before.streamLength + 1 });
      expect((await get(good)).json()).toEqual({ id: good, userId: 'u-1' });
    });
  });

  describe('errors: 404 unknown collection', () => {
    it.each([
      ['PUT', '/v1/nope/x1', { userId: 'u-1' }],
      ['PATCH', '/v1/nope/x1', { userId: 'u-1' }],
      ['DELETE', '/v1/nope/x1', undefined],
      ['GET', '/v1/nope/x1', undefined],
      ['GET', '/v1/nope?ids=x1', undefined],
      ['POST', '/v1/nope', { userId: 'u-1' }],
      ['POST', '/v1/nope/_bulk', { ops: [{ op: 'put', id: 'x1', doc: {} }] }],
    ] as const)('%s %s', async (method, url, body) => {
      const before = await probe.keysWithPrefix('spw:{nope.');
      expectProblem(await call(method, url, { body }), 404, /nope/);
      expect(await probe.keysWithPrefix('spw:{nope.')).toEqual(before);
    });
  });

  describe('errors: 415 wrong content type', () => {
    it.each([
      ['text/plain', '{"userId":"u-1"}'],
      ['application/x-www-form-urlencoded', 'userId=u-1'],
    ])('%s on PUT, PATCH, POST and _bulk', async (contentType, raw) => {
      const id = await seed();
      await expectRefused(id, () => call('PUT', `/v1/sessions/${id}`, { raw, contentType }), 415);
      await expectRefused(id, () => call('PATCH', `/v1/sessions/${id}`, { raw, contentType }), 415);
      await expectRefused(id, () => call('POST', '/v1/sessions', { raw, contentType }), 415);
      await expectRefused(id, () => call('POST', '/v1/sessions/_bulk', { raw, contentType }), 415);
    });
  });

  describe('errors: 413 body over INGEST_MAX_BODY', () => {
    let small: NestFastifyApplication | undefined;

    afterEach(async () => {
      await small?.close();
      small = undefined;
    });

    it('refuses a body over 2048 bytes and accepts one under it', async () => {
      const saved = process.env.INGEST_MAX_BODY;
      small = await bootIngest({ INGEST_MAX_BODY: '2048' });
      expect(process.env.INGEST_MAX_BODY).toBe(saved);
      const id = newId();
      const under = session({ note: 'x'.repeat(1500) });
      expectAccepted(await send(small, 'PUT', `/v1/sessions/${id}`, { body: under }), id, 1);

      const over = session({ note: 'x'.repeat(3000) });
      const before = await probe.snapshot('sessions', id);
      expectProblem(await send(small, 'PUT', `/v1/sessions/${id}`, { body: over }), 413);
      expectProblem(await send(small, 'POST', '/v1/sessions', { body: { ...over, id } }), 413);
      expectProblem(
        await send(small, 'POST', '/v1/sessions/_bulk', { body: { ops: [{ op: 'put', id, doc: over }] } }),
        413,
      );
      expect(await probe.snapshot('sessions', id)).toEqual(before);
    });
  });

  describe('errors: 429 backlog over INGEST_MAX_BACKLOG', () => {
    let limited: NestFastifyApplication | undefined;

    afterEach(async () => {
      await limited?.close();
      limited = undefined;
    });

    it('accepts writes up to the limit, then answers 429 with Retry-After and writes nothing', async () => {
      // No sink runs here, so every entry stays unacked: the limit sits 3 entries above today's backlog.
      const backlog = await probe.unackedBacklog('sessions');
      limited = await bootIngest({ INGEST_MAX_BACKLOG: String(backlog + 3) });
      const [first, second, third] = [newId(), newId(), newId()];
      for (const id of [first, second, third]) {
        expectAccepted(await send(limited, 'PUT', `/v1/sessions/${id}`, { body: session() }), id, 1);
      }

      // The backlog figure refreshes every second; the guard reads the figure the gauge shows.
      await expectEventually(
        async () => {
          const { body } = await send(limited!, 'GET', '/metrics');
          const gauge = metricSamples(body, 'spillway_stream_backlog').find((s) => s.labels.collection === 'sessions');
          expect(gauge?.value).toBeGreaterThanOrEqual(backlog + 3);
        },
        10_000,
        50,
      );

      const res = await expectRefused(
        first,
        () => send(limited!, 'PUT', `/v1/sessions/${first}`, { body: session({ amount: 1 }) }),
        429,
      );
      expect(String(res.headers['retry-after'])).toMatch(/^[1-9]\d*$/);
      await expectRefused(
        second,
        () => send(limited!, 'POST', '/v1/sessions', { body: session({ id: newId() }) }),
        429,
      );
      await expectRefused(third, () => send(limited!, 'DELETE', `/v1/sessions/${third}`), 429);
    });
  });

  describe('errors: 503 Redis unreachable', () => {
    /** a redis-server of its own; on a cluster, the variant's whole cluster */
    let target: StoppableRedis;
    let cut: NestFastifyApplication | undefined;

    /** Runs `check` while every server of the app's Redis is stopped, then starts them again (AOF on: data survives). */
    async function whileRedisDown(check: () => Promise<void>): Promise<void> {
      await target.stop();
      try {
        await check();
      } finally {
        await target.start();
      }
    }

    /** The sessions streams and one document's hash on `target`, read on a connection of their own. */
    async function snapshotOfTarget(id: string): Promise<RedisSnapshot> {
      const opened = await target.openProbe();
      try {
        return await opened.snapshot('sessions', id);
      } finally {
        opened.disconnect();
      }
    }

    beforeAll(async () => {
      target = cluster ? stoppableCluster(cluster, probe.partitions) : await startStoppableServer(probe.partitions);
      cut = await bootIngest(target.env);
    });

    afterAll(async () => {
      await cut?.close();
      await target?.close();
    });

    it('answers 503 to writes and reads while Redis is down, and nothing changed', async () => {
      const id = newId();
      expectAccepted(await send(cut!, 'PUT', `/v1/sessions/${id}`, { body: session() }), id, 1);
      const before = await snapshotOfTarget(id);

      await whileRedisDown(async () => {
        // Sent together: a cluster client takes its retries (about 1.6 s) before it answers each one.
        const [putAnswer, patchAnswer, deleteAnswer, postAnswer, bulk, eventAnswer, getAnswer] = await Promise.all([
          send(cut!, 'PUT', `/v1/sessions/${id}`, { body: session({ amount: 1 }) }),
          send(cut!, 'PATCH', `/v1/sessions/${id}`, { body: { amount: 1 } }),
          send(cut!, 'DELETE', `/v1/sessions/${id}`),
          send(cut!, 'POST', '/v1/sessions', { body: session() }),
          send(cut!, 'POST', '/v1/sessions/_bulk', { body: { ops: [{ op: 'delete', id }] } }),
          send(cut!, 'POST', '/v1/clicks', { body: click(newId()) }),
          send(cut!, 'GET', `/v1/sessions/${id}`),
        ]);
        for (const answer of [putAnswer, patchAnswer, deleteAnswer, postAnswer, eventAnswer, getAnswer]) {
          expectProblem(answer, 503);
        }
        // _bulk reports per item: a 503 for the whole request, or a 200 whose every item is a 503, will do. A cluster
        // client cannot tell a node that was down from one that went away under the write: its item may say
        // `outcome: unknown` (so may the 503s above).
        if (bulk.statusCode === 200) {
          const unknown = cluster ? { outcome: expect.toBeOneOf(['unknown', undefined]) } : {};
          expect(bulk.json()).toEqual({
            results: [{ error: { status: 503, detail: expect.any(String), ...unknown } }],
          });
        } else {
          expectProblem(bulk, 503);
        }
      });

      expect(await snapshotOfTarget(id)).toEqual(before);
      // Once Redis is back, the same app serves again.
      await expectEventually(async () => expect((await send(cut!, 'GET', `/v1/sessions/${id}`)).statusCode).toBe(200));
    });

    it('/health/ready answers 503 naming the redis check while Redis is down', async () => {
      await whileRedisDown(async () => {
        const ready = await send(cut!, 'GET', '/health/ready');
        expect(ready.statusCode).toBe(503);
        expect(ready.body).toMatch(/redis/i);
      });
    });

    if (clusterPartitions !== undefined) {
      it('answers 503 (or outcome unknown) for a slot whose master was killed, never 202, until its replica takes over', async () => {
        const masterless = await killMasterOfPartition(cluster!, 3);
        try {
          const { answers, warm } = masterless;
          // Whole requests (and the readiness probe) made while no master served the slot: each one refused.
          const refused = answers.filter((answer) => answer.masterless);
          expect(refused.length).toBeGreaterThan(0);
          for (const { reply } of refused) expectRedisRefusal(reply);
          expect(refused[0]?.ready?.statusCode).toBe(503);
          // Around the takeover a write may go either way; one answered 202 must have been kept.
          for (const { id, reply } of answers) {
            if (reply.statusCode === 202) expect((await get(id)).headers.etag).toBe('"1"');
            else expectRedisRefusal(reply);
          }
          await cluster!.waitForFailover();
          await expectEventually(async () => {
            expectAccepted(await put(masterless.newId(), session()), /./, 1);
          }, 20_000);
          await expectEventually(async () => expect((await call('GET', '/health/ready')).statusCode).toBe(200), 20_000);
          // Replicated before the kill, so kept by the replica that took over.
          expect((await get(warm)).json()).toEqual({ id: warm, ...session() });
        } finally {
          await masterless.restart();
        }
      }, 90_000);
    }

    /** A write answered 503 for want of Redis: REDIS_UNAVAILABLE, or OUTCOME_UNKNOWN (`outcome: unknown`). */
    function expectRedisRefusal(reply: ApiResponse): void {
      const problem = expectProblem(reply, 503);
      if ((problem as { outcome?: string }).outcome !== 'unknown') expect(problem.detail).toMatch(/Redis/);
    }

    /**
     * Writes an id of `partition` (replicated), SIGKILLs the master of its slot, then PUTs new ids of that partition
     * until the master's replica has taken over; each answer says whether the whole request (and, for the first,
     * a readiness probe) came while the replica still called itself a replica, so while no master served the slot.
     */
    async function killMasterOfPartition(on: RedisClusterServer, partition: number) {
      const stream = probe.streams('sessions')[partition]!;
      const master = await on.masterOfKey(stream);
      const replica = (await on.replicas()).find((node) => node.masterId === master.id);
      expect(replica, `master ${master.port} has a replica`).toBeDefined();
      const idIn = (): string => {
        for (;;) {
          const id = newId();
          if (probe.partitionOf(id) === partition) return id;
        }
      };
      const warm = idIn();
      expectAccepted(await put(warm, session()), warm, 1);
      await on.waitForReplication();
      const stillReplica = async () =>
        (await on.topology(replica!.port)).find((node) => node.id === replica!.id)?.role === 'replica';

      await on.kill(master.port);
      const answers: { id: string; reply: ApiResponse; ready?: ApiResponse; masterless: boolean }[] = [];
      const deadline = Date.now() + 30_000;
      while ((await stillReplica()) && Date.now() < deadline) {
        const id = idIn();
        const [reply, ready] = await Promise.all([
          put(id, session()),
          answers.length === 0 ? call('GET', '/health/ready') : undefined,
        ]);
        answers.push({ id, reply, ready, masterless: await stillReplica() });
      }

      return { answers, warm, newId: idIn, restart: () => on.restart(master.port) };
    }
  });

  describe('API keys (INGEST_API_KEYS)', () => {
    let keyed: NestFastifyApplication | undefined;

    beforeAll(async () => {
      keyed = await bootIngest({ INGEST_API_KEYS: 'k1,k2' });
    });

    afterAll(async () => {
      await keyed?.close();
    });

    it.each([
      ['no Authorization header', undefined],
      ['a wrong key', 'Bearer k3'],
      ['a key that is a prefix of a real one', 'Bearer k'],
      ['another scheme', 'Basic k1'],
    ])('answers 401 to a write with %s and writes nothing', async (_what, authorization) => {
      const id = newId();
      const headers = authorization ? { authorization } : undefined;
      await expectRefused(id, () => send(keyed!, 'PUT', `/v1/sessions/${id}`, { body: session(), headers }), 401);
      await expectRefused(id, () => send(keyed!, 'POST', '/v1/sessions', { body: session({ id }), headers }), 401);
      expectProblem(await send(keyed!, 'GET', `/v1/sessions/${id}`, { headers }), 401);
    });

    it('accepts any configured key', async () => {
      const id = newId();
      expectAccepted(
        await send(keyed!, 'PUT', `/v1/sessions/${id}`, { body: session(), headers: { authorization: 'Bearer k2' } }),
        id,
        1,
      );
      const res = await send(keyed!, 'GET', `/v1/sessions/${id}`, { headers: { authorization: 'Bearer k1' } });
      expect(res.statusCode).toBe(200);
    });

    it.each(['/health/live', '/health/ready', '/metrics'])('%s needs no key', async (url) => {
      expect((await send(keyed!, 'GET', url)).statusCode).toBe(200);
    });
  });

  describe('read-through to the database', () => {
    const scratch = `spillway_api_${randomBytes(4).toString('hex')}`;
    let fresh: NestFastifyApplication | undefined;

    beforeAll(async () => {
      await database.createDatabase(scratch);
    });

    afterAll(async () => {
      await fresh?.close();
      await database.dropDatabase(scratch);
    });

    /** Rows on which the user created the sessions table (section 4) and no sink has run yet. */
    async function insertRows(rows: { id: string; version: number; doc: Record<string, unknown> }[]): Promise<void> {
      const db = database.reader(scratch);
      try {
        await db.query(SESSIONS_TABLE[database.kind].create);
        for (const { id, version, doc } of rows) {
          await db.query(SESSIONS_TABLE[database.kind].insert, [id, version, JSON.stringify(doc)]);
        }
      } finally {
        await db.close();
      }
      for (const { id } of rows) {
        expect(await probe.existing(probe.docKey('sessions', id))).toBe(0);
      }
      fresh ??= await bootIngest({ DATABASE_URL: database.urlOf(scratch) });
    }

    it('serves a document only the database holds, and the next write continues from its version', async () => {
      const id = newId();
      const doc = { id, userId: 'u-pg', status: 'closed', device: { type: 'android' } };
      await insertRows([{ id, version: 7, doc }]);

      const res = await send(fresh!, 'GET', `/v1/sessions/${id}`);
      expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
      expect(res.headers.etag).toBe('"7"');
      expect(res.json()).toEqual(doc);

      const many = await send(fresh!, 'GET', `/v1/sessions?ids=${id}`);
      expect(many.json()).toEqual({ items: [doc], missing: [] });

      expectAccepted(await send(fresh!, 'PUT', `/v1/sessions/${id}`, { body: { ...doc, status: 'active' } }), id, 8);
      expect((await send(fresh!, 'GET', `/v1/sessions/${id}`)).headers.etag).toBe('"8"');
    });

    it('_bulk continues the versions of ids only the database holds, and applies the ops on one id in order', async () => {
      const [a, b, c] = [newId(), newId(), newId()];
      await insertRows([
        { id: a, version: 7, doc: { id: a, userId: 'u-pg', status: 'closed' } },
        { id: b, version: 3, doc: { id: b, userId: 'u-pg', status: 'closed' } },
      ]);
      const tails = await probe.streamTails('sessions');

      const res = await send(fresh!, 'POST', '/v1/sessions/_bulk', {
        body: {
          ops: [
            { op: 'put', id: a, doc: session() },
            { op: 'delete', id: b },
            { op: 'put', id: a, doc: session({ amount: 2 }), ifMatch: 8 },
            { op: 'delete', id: b },
            { op: 'put', id: c, doc: session() },
            { op: 'put', id: a, doc: session({ amount: 3 }), ifMatch: 8 },
          ],
        },
      });

      expect(res.statusCode).toBe(200);
      const { results } = res.json<{ results: unknown[] }>();
      expect(results).toEqual([
        { id: a, version: 8 },
        { id: b, version: 4 },
        { id: a, version: 9 },
        { error: { status: 404, detail: expect.stringMatching(/does not exist/) } },
        { id: c, version: 1 },
        { error: { status: 412, detail: expect.stringMatching(/If-Match/) } },
      ]);
      // In order within each partition stream (one stream, on one partition): the changes of one id stay in order.
      const added = await probe.entriesAfter('sessions', tails);
      const headers = added.map((entries) => entries.map((header) => header.split(' ').slice(1, 4).join(' ')));
      const expected = [`put ${a} 8`, `del ${b} 4`, `put ${a} 9`, `put ${c} 1`];
      expect(headers).toEqual(
        probe
          .streams('sessions')
          .map((_, partition) => expected.filter((line) => probe.partitionOf(line.split(' ')[1]!) === partition)),
      );
      const doc = await send(fresh!, 'GET', `/v1/sessions/${a}`);
      expect(doc.headers.etag).toBe('"9"');
      expect(doc.json()).toEqual({ id: a, ...session({ amount: 2 }) });
      expectProblem(await send(fresh!, 'GET', `/v1/sessions/${b}`), 404);
    });
  });

  describe('GET /metrics', () => {
    const requests = async (): Promise<ReturnType<typeof metricSamples>> => {
      const res = await call('GET', '/metrics');
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);

      return metricSamples(res.body, 'spillway_ingest_requests_total');
    };
    const count = (samples: ReturnType<typeof metricSamples>, route: string, method: string, status: string) =>
      samples.find((s) => s.labels.route === route && s.labels.method === method && s.labels.status === status)
        ?.value ?? 0;

    it('counts requests by route pattern, method and status', async () => {
      const before = await requests();
      const id = await seed();
      expectProblem(await get(newId()), 404);
      expect((await get(id)).statusCode).toBe(200);

      const after = await requests();
      expect(count(after, '/v1/:collection/:id', 'PUT', '202')).toBe(
        count(before, '/v1/:collection/:id', 'PUT', '202') + 1,
      );
      expect(count(after, '/v1/:collection/:id', 'GET', '404')).toBe(
        count(before, '/v1/:collection/:id', 'GET', '404') + 1,
      );
      expect(count(after, '/v1/:collection/:id', 'GET', '200')).toBe(
        count(before, '/v1/:collection/:id', 'GET', '200') + 1,
      );
      expect(after.every((s) => !s.labels.route?.includes(id))).toBe(true);
    });
  });

  describe('GET /health', () => {
    it.each(['/health/live', '/health/ready'])('%s answers 200', async (url) => {
      const res = await call('GET', url);
      expect(res.statusCode).toBe(200);
      expect(res.json().status).toBe('ok');
    });
  });

  /**
   * Bodies and requests built to break ingest (issue 3). Each is refused with a documented 4xx as problem+json and
   * changes nothing, or, where noted, is stored exactly as sent. Raw bodies are written as JSON text, because
   * JSON.stringify would escape or drop what they test.
   */
  describe('hostile input', () => {
    const nestedObjects = (depth: number, leaf = '"x"') => '{"a":'.repeat(depth) + leaf + '}'.repeat(depth);
    /** A session body whose `deep` member nests `levels` objects, so the document is `levels + 1` deep. */
    const deepSession = (levels: number) => `{"userId":"u-1","deep":${nestedObjects(levels)}}`;

    /** Every way one document body reaches ingest: PUT, POST, PATCH (onto a seeded document) and an event. */
    async function expectEveryWriteRefused(docMembers: string, detail: RegExp | string): Promise<void> {
      const id = await seed();
      const fresh = newId();
      const body = `{"userId":"u-1",${docMembers}}`;
      await expectRefused(fresh, () => call('PUT', `/v1/sessions/${fresh}`, { raw: body }), 400, detail);
      await expectRefused(
        fresh,
        () => call('POST', '/v1/sessions', { raw: `{"id":"${fresh}",${body.slice(1)}` }),
        400,
        detail,
      );
      await expectRefused(id, () => call('PATCH', `/v1/sessions/${id}`, { raw: `{${docMembers}}` }), 400, detail);
      await expectRefused(
        fresh,
        () => call('POST', '/v1/clicks', { raw: `{"id":"${fresh}","sessionId":"s-1","screen":"home",${docMembers}}` }),
        400,
        detail,
        'clicks',
      );
    }

    /** A _bulk put whose second item carries `docMembers`: that item alone fails with 400, the others land. */
    async function expectBulkItemRefused(docMembers: string, detail: RegExp): Promise<void> {
      const [good1, bad, good2] = [newId(), newId(), newId()];
      const before = await probe.streamLength('sessions');
      const raw =
        `{"ops":[{"op":"put","id":"${good1}","doc":{"userId":"u-1"}},` +
        `{"op":"put","id":"${bad}","doc":{"userId":"u-1",${docMembers}}},` +
        `{"op":"put","id":"${good2}","doc":{"userId":"u-1"}}]}`;
      const res = await call('POST', '/v1/sessions/_bulk', { raw });
      expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
      const { results } = res.json<{ results: unknown[] }>();
      expect(results).toEqual([
        { id: good1, version: 1 },
        { error: { status: 400, detail: expect.stringMatching(detail) } },
        { id: good2, version: 1 },
      ]);
      expect(await probe.streamLength('sessions')).toBe(before + 2);
      expect(await probe.existing(probe.docKey('sessions', bad))).toBe(0);

      const events = await call('POST', '/v1/clicks/_bulk', {
        raw: `{"events":[{"sessionId":"s-1","screen":"home",${docMembers}}]}`,
      });
      expect(events.json()).toEqual({ results: [{ error: { status: 400, detail: expect.stringMatching(detail) } }] });
    }

    describe('text PostgreSQL jsonb cannot store (it would dead-letter an acknowledged write)', () => {
      it.each([
        ['U+0000 in a string', '"note":"a\\u0000b"', /string at \/note contains U\+0000/],
        ['U+0000 in a member name', '"x\\u0000y":1', 'member name at /x\u0000y contains U+0000'],
        ['U+0000 nested in an array', '"tags":["ok",{"t":"\\u0000"}]', /at \/tags\/1\/t contains U\+0000/],
        ['an unpaired high surrogate', '"note":"\\ud800"', /string at \/note contains an unpaired UTF-16 surrogate/],
        ['an unpaired low surrogate in a member name', '"\\udfff":1', /member name at \/\udfff contains an unpaired/],
      ])('%s: 400 naming the path on PUT, POST, PATCH and events', async (_what, members, detail) => {
        await expectEveryWriteRefused(members, detail);
      });

      it('U+0000 in one _bulk item fails that item alone', async () => {
        await expectBulkItemRefused('"note":"\\u0000"', /string at \/note contains U\+0000/);
      });

      it('a surrogate pair, escaped or not, is stored as sent', async () => {
        const id = newId();
        expectAccepted(
          await call('PUT', `/v1/sessions/${id}`, { raw: '{"userId":"u-1","a":"\\ud83d\\ude00","b":"😀"}' }),
          id,
          1,
        );
        expect((await get(id)).json()).toEqual({ id, userId: 'u-1', a: '😀', b: '😀' });
      });

      it('a body that is not valid UTF-8 is refused, not stored with U+FFFD in place of its bytes', async () => {
        const id = newId();
        const payload = Buffer.concat([Buffer.from('{"userId":"u-'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
        const res = (await app.inject({
          method: 'PUT',
          url: `/v1/sessions/${id}`,
          payload,
          headers: { 'content-type': 'application/json' },
        })) as unknown as ApiResponse;
        expectProblem(res, 400, /UTF-8/);
        expect(await probe.existing(probe.docKey('sessions', id))).toBe(0);
      });

      it('a charset other than UTF-8 is 415', async () => {
        const id = newId();
        await expectRefused(
          id,
          () =>
            call('PUT', `/v1/sessions/${id}`, {
              raw: '{"userId":"u-1"}',
              contentType: 'application/json; charset=utf-16',
            }),
          415,
        );
      });
    });

    describe('numbers', () => {
      it.each([
        ['1e400', '"amount":1e400'],
        ['-1e309', '"amount":-1e309'],
      ])('%s (which JSON.stringify would store as null) is 400 naming the path', async (_what, members) => {
        await expectEveryWriteRefused(members, /number at \/amount is beyond/);
        await expectBulkItemRefused(members, /number at \/amount is beyond/);
      });
    });

    describe('deep nesting', () => {
      it(`takes a document ${MAX_DOCUMENT_DEPTH} levels deep and refuses one more with 400 naming the path, on every write`, async () => {
        const id = newId();
        const deepest = MAX_DOCUMENT_DEPTH - 1; // under the document's own level
        expectAccepted(await call('PUT', `/v1/sessions/${id}`, { raw: deepSession(deepest) }), id, 1);
        const stored = (await get(id)).json();
        expect(JSON.stringify(stored)).toContain(nestedObjects(deepest));

        const tooDeep = new RegExp(`document nests deeper than ${MAX_DOCUMENT_DEPTH} levels at /deep/a/a`);
        await expectEveryWriteRefused(`"deep":${nestedObjects(deepest + 1)}`, tooDeep);
        await expectBulkItemRefused(`"deep":${nestedObjects(deepest + 1)}`, tooDeep);
      });

      it('a PATCH that makes the document too deep is refused', async () => {
        const levels = MAX_DOCUMENT_DEPTH - 2;
        const id = await seed(session({ deep: JSON.parse(nestedObjects(levels)) }));
        // The patch alone is shallow enough; merged under the existing levels it is not.
        const patch = `{"deep":${'{"a":'.repeat(levels)}{"b":{"c":1}}${'}'.repeat(levels)}}`;
        await expectRefused(
          id,
          () => call('PATCH', `/v1/sessions/${id}`, { raw: patch }),
          400,
          new RegExp(`nests deeper than ${MAX_DOCUMENT_DEPTH} levels`),
        );
      });

      it.each([
        ['5,000 arrays', `{"userId":"u-1","deep":${'['.repeat(5000)}${']'.repeat(5000)}}`],
        [
          'the 500,000 arrays a 1 MiB body can hold',
          `{"userId":"u-1","deep":${'['.repeat(500_000)}${']'.repeat(500_000)}}`,
        ],
        ['100,000 objects', `{"userId":"u-1","deep":${nestedObjects(100_000)}}`],
      ])('%s: 400, not a 500 from a stack overflow', async (_what, raw) => {
        const id = await seed();
        await expectRefused(id, () => call('PUT', `/v1/sessions/${id}`, { raw }), 400, /nests deeper than/);
        await expectRefused(id, () => call('PATCH', `/v1/sessions/${id}`, { raw }), 400, /nests deeper than/);
        await expectRefused(
          id,
          () => call('POST', '/v1/sessions/_bulk', { raw: `{"ops":[{"op":"put","id":"${id}","doc":${raw}}]}` }),
          400,
          /nests deeper than/,
        );
      });
    });

    describe('prototype keys', () => {
      const refusedAt = (pointer: string) => new RegExp(`member name at ${pointer.replace(/\//g, '\\/')} is refused`);

      it.each([
        ['__proto__', '"__proto__":{"polluted":true}', '/__proto__'],
        ['a nested __proto__', '"device":{"__proto__":{"polluted":true}}', '/device/__proto__'],
        ['constructor.prototype', '"constructor":{"prototype":{"polluted":true}}', '/constructor'],
      ])(
        '%s: 400 naming the path on PUT, POST, PATCH, events and _bulk, and no prototype changes',
        async (_what, members, pointer) => {
          await expectEveryWriteRefused(members, refusedAt(pointer));
          const id = await seed();
          const bulk = `{"ops":[{"op":"patch","id":"${id}","doc":{${members}}}]}`;
          await expectRefused(
            id,
            () => call('POST', '/v1/sessions/_bulk', { raw: bulk }),
            400,
            refusedAt(`/ops/0/doc${pointer}`),
          );
          const events = `{"events":[{"sessionId":"s","screen":"x",${members}}]}`;
          await expectRefused(
            id,
            () => call('POST', '/v1/clicks/_bulk', { raw: events }),
            400,
            refusedAt(`/events/0${pointer}`),
            'clicks',
          );
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.prototype).not.toHaveProperty('polluted');
        },
      );

      it('members named constructor, prototype and hasOwnProperty are data: PUT and PATCH store them as sent', async () => {
        const id = newId();
        expectAccepted(await put(id, { userId: 'u-1', hasOwnProperty: 1, constructor: 'Ferrari' }), id, 1);
        // json-merge-patch 1.0.2 threw on the hasOwnProperty member (500) and stopped at "constructor",
        // dropping "amount" while still answering 202.
        expectAccepted(
          await call('PATCH', `/v1/sessions/${id}`, {
            body: { status: 'idle', constructor: 'Lotus', prototype: { p: 1 }, amount: 5, hasOwnProperty: null },
          }),
          id,
          2,
        );
        expect((await get(id)).json()).toEqual({
          id,
          userId: 'u-1',
          constructor: 'Lotus',
          status: 'idle',
          prototype: { p: 1 },
          amount: 5,
        });
      });
    });

    describe('URLs', () => {
      it('a URL that is not valid percent-encoding is 400 problem+json', async () => {
        const id = newId();
        await expectRefused(id, () => call('PUT', `/v1/sessions/${id}%E0%A4%A`, { body: session() }), 400, /URL/);
      });

      it('an unknown collection is 404 whatever the body', async () => {
        expectProblem(await call('PUT', '/v1/no_such/x1', { raw: '{"a":"\\u0000"}' }), 404, /no_such/);
        expectProblem(await call('POST', '/v1/no%00pe', { body: session() }), 404);
        expect(await probe.keysWithPrefix('spw:{no_such.')).toEqual([]);
      });
    });
  });
});

/**
 * Requests built to break ingest's HTTP layer (issue 3), refused before any database is read: run once, with the
 * default DATABASE_URL.
 */
describe('hostile input on the wire (a listening app, raw bytes)', () => {
  let port: number;
  let wire: NestFastifyApplication | undefined;
  let store: StoreProbe | undefined;

  beforeAll(async () => {
    store = new StoreProbe(await openProbeClient({ url: testServers().redisUrl }), 1);
    wire = await bootIngest();
    await wire.listen(0, '127.0.0.1');
    port = (wire.getHttpServer().address() as { port: number }).port;
  });

  afterAll(async () => {
    await wire?.close();
    store?.disconnect();
  });

  const head = (method: string, path: string, headers: Record<string, string | number>) =>
    `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    '\r\n';

  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    [
      'a Content-Length that is not a number',
      head('PUT', '/v1/sessions/w-1', { 'Content-Type': 'application/json', 'Content-Length': 'abc' }),
    ],
    [
      'two Content-Lengths',
      head('PUT', '/v1/sessions/w-1', {
        'Content-Type': 'application/json',
        'Content-Length': '1\r\nContent-Length: 2',
      }),
    ],
    [
      'a header over 16 KiB',
      head('PUT', '/v1/sessions/w-1', { 'Content-Type': 'application/json', 'X-Pad': 'p'.repeat(20_000) }),
    ],
    [
      'a URL over 16 KiB',
      head('PUT', `/v1/sessions/${'w'.repeat(20_000)}`, { 'Content-Type': 'application/json', 'Content-Length': 2 }) +
        '{}',
    ],
  ])("%s is 400 problem+json (it was Fastify's own JSON, or 431)", async (_what, request) => {
    expectRawProblem(await sendRaw(port, request), 400);
  });

  it('a body sent a byte a second is cut off with 408 problem+json, and nothing is written', async () => {
    const id = newId();
    const request =
      head('PUT', `/v1/sessions/${id}`, { 'Content-Type': 'application/json', 'Content-Length': 100_000 }) +
      '{"userId":"u-1","pad":"';
    // Fastify's default (no request timeout) held such a request open forever; the client gives up at 90 s.
    const answer = await sendRaw(port, request, { dribble: 'x', dribbleEveryMs: 1000, giveUpMs: 90_000 });
    expect(answer.closedByServer).toBe(true);
    expectRawProblem(answer, 408);
    expect(await store!.existing(store!.docKey('sessions', id))).toBe(0);
  }, 120_000);
});
