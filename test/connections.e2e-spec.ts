import { type Collection, loadCollections, type OutputTable } from '@app/collections';
import { connectionGroup, DEFAULT_CONNECTION, DEFAULT_SINK_GROUP } from '@app/contracts';
import { type AppProcess, type DatabaseReader, openDatabaseReader } from '../tools/local-stack';
import { mulberry32 } from '../tools/shared/random';
import { expectEventually } from './utils/expect-eventually';
import { metricSum } from './utils/metrics';
import { PipelineFixture } from './utils/pipeline-fixture';
import { testServers } from './utils/servers';
import {
  type Documents,
  expectedOutputs,
  expectSameRows,
  noLoadYet,
  type Random,
  readOutputTable,
  runSessionLoad,
  sessionDoc,
  type SessionLoad,
  type SessionShape,
  type TableRows,
} from './utils/session-outputs';

/**
 * Named connections: one collection written to PostgreSQL (the default connection, DATABASE_URL) and to MariaDB (the
 * connection `analytics`) at once. Its file has two outputs on `connection: analytics` (typed columns, and a foreach
 * child table) and one on the default connection. Each database is written by its own consumer group (`spillway`,
 * `spillway.analytics`), so MariaDB going down holds back nothing PostgreSQL takes, and both end equal to what Redis
 * acknowledged.
 *
 * Real: ingest app (in-process), Redis, PostgreSQL, MariaDB, sink processes (the built app), the collection's
 * projector. Mocked: nothing. The session workload and the output checks are test/utils/session-outputs.ts, shared
 * with pipeline-outputs.e2e-spec.ts.
 */

const CONNECTION = 'analytics';
const DEFAULT_GROUP = connectionGroup(DEFAULT_SINK_GROUP, DEFAULT_CONNECTION);
const ANALYTICS_GROUP = connectionGroup(DEFAULT_SINK_GROUP, CONNECTION);

/** Milliseconds of load, when MariaDB is killed (into the load), and how long it stays down once it is. */
const LOAD_MS = 22_000;
const STOP_AT_MS = 5_000;
const DOWN_MS = 8_000;

/** Outputs of the test's collection: facts and screens in MariaDB (`connection: analytics`), totals in PostgreSQL. */
function outputsYaml(prefix: string): string {
  return `
transform:
  - uses: add_field
    with:
      fields:
        - { field: screen_count, expression: 'length(screens || \`[]\`)' }
        - { field: seconds_in_app, expression: 'sum(screens[].seconds || \`[]\`)' }
output:
  - uses: relational.write
    with:
      connection: ${CONNECTION}
      table: ${prefix}_facts
      keys: [id]
      mapping:
        - user_id: owner
        - status
        - amount
        - started_at: startedAt
        - started_ms: startedMs
        - day
        - premium
        - ref
        - device
        - screen_count
        - seconds_in_app
      columns:
        id: text
        user_id: text
        status: text
        amount: numeric
        started_at: timestamptz
        started_ms: bigint
        day: date
        premium: boolean
        ref: uuid
        device: jsonb
        screen_count: integer
        seconds_in_app: double
  - uses: relational.write
    with:
      connection: ${CONNECTION}
      table: ${prefix}_screens
      foreach: 'screen: screens[]'
      keys: [{ session_id: id }, { position: screen.position }]
      mapping: [{ name: screen.name }, { seconds: screen.seconds }]
      columns: { session_id: text, position: integer, name: text, seconds: double }
  - uses: relational.write
    with:
      table: ${prefix}_totals
      keys: [id]
      mapping: [{ user_id: owner }, amount, screen_count]
      columns: { id: text, user_id: text, amount: numeric, screen_count: integer }
`;
}

function uuidOf(random: Random): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const uuid = `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;

  return random() < 0.5 ? uuid.toUpperCase() : uuid;
}

/** Sessions whose every value converts for every output, in both databases; none is filtered. */
const SESSIONS: SessionShape = {
  owners: 17,
  statuses: ['active', 'idle', 'closed'],
  patchStatuses: ['active', 'idle', 'closed'],
  maxScreens: 5,
  screenNames: ['home', 'accounts', 'transfer', 'cards', 'settings'],
  amountShares: { number: 0.7, text: 0.15 },
  extra: (random) => (random() < 0.8 ? { ref: uuidOf(random) } : {}),
  patchExtra: (random) => ({ ref: uuidOf(random) }),
};

const LOAD: SessionLoad = { shape: SESSIONS, seed: 1616, ids: 150, clients: 6, pauseBetweenOpsMs: 20 };

/** The test MariaDB's documents of a collection (its state table). */
async function readMariadbState(db: DatabaseReader, collection: string): Promise<Documents> {
  const rows = await db.rows<{ id: string; version: string; doc: unknown }>(collection, {
    columns: ['id', 'version', 'doc'],
  });

  return new Map(
    // mysql2 parses a json column itself where the server marks it as JSON (MariaDB's is a LONGTEXT with a check).
    rows.map((r) => [
      r.id,
      { version: Number(r.version), doc: typeof r.doc === 'string' ? (JSON.parse(r.doc) as unknown) : r.doc },
    ]),
  );
}

/** One consumer group of a stream, from XINFO GROUPS: entries delivered and not acked, entries not yet delivered. */
interface GroupState {
  pending: number;
  undelivered: number;
}

/** Every consumer group of a collection's streams (summed over partitions), by name. */
async function groupStates(fx: PipelineFixture, collection: string): Promise<Map<string, GroupState>> {
  const states = new Map<string, GroupState>();
  for (const { stream } of fx.partitionsOf(collection)) {
    const groups = (await fx.redis.xinfo('GROUPS', stream).catch(() => [])) as unknown[][];
    for (const group of groups) {
      const field = (name: string) => group[group.indexOf(name) + 1];
      const undelivered = await fx.redis.xrange(stream, `(${String(field('last-delivered-id'))}`, '+');
      const name = String(field('name'));
      const state = states.get(name) ?? { pending: 0, undelivered: 0 };
      state.pending += Number(field('pending'));
      state.undelivered += undelivered.length;
      states.set(name, state);
    }
  }

  return states;
}

const backlogOf = (state: GroupState | undefined): number => (state ? state.pending + state.undelivered : 0);

interface Readiness {
  status: number;
  /** terminus's answer: every check under `details`, the failing ones also under `error` */
  body: { details?: Record<string, { status: string }>; error?: Record<string, { status: string }> };
}

async function readiness(sink: AppProcess): Promise<Readiness> {
  const response = await fetch(`${sink.url}/health/ready`, { signal: AbortSignal.timeout(5000) });

  return { status: response.status, body: (await response.json()) as Readiness['body'] };
}

async function sumOverSinks(sinks: AppProcess[], metric: string, labels: Record<string, string>): Promise<number> {
  const pages = await Promise.all(sinks.filter((s) => s.running).map((s) => s.metrics()));

  return pages.map((page) => metricSum(page, metric, labels)).reduce((a, b) => a + b, 0);
}

const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

describe('named connections: one collection in PostgreSQL and MariaDB at once', () => {
  const { mariadb, mariadbUrl } = testServers();
  const connectionEnv = { SPILLWAY_CONNECTIONS: CONNECTION, SPILLWAY_CONNECTION_ANALYTICS_URL: mariadbUrl };
  let fx: PipelineFixture;
  let collection: Collection;

  const output = (suffix: string): OutputTable => {
    const table = collection.outputs.find((o) => o.table === `${fx.docs}_${suffix}`);
    if (!table) throw new Error(`no output ${fx.docs}_${suffix}`);

    return table;
  };

  const startSink = (name: string, env: Record<string, string> = {}) => fx.startSink(env, name);

  const put = async (id: string, doc: object) => {
    const reply = await fx.request('PUT', `/v1/${fx.docs}/${id}`, doc);
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);

    return reply.body.version;
  };

  const pgState = async (): Promise<Documents> => fx.tableRows();

  const withMariadb = async <T>(work: (db: DatabaseReader) => Promise<T>): Promise<T> => {
    const db = openDatabaseReader(mariadbUrl);
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  };

  const drained = async (timeoutMs = 120_000) => {
    await expectEventually(async () => expect(await fx.backlog(fx.docs)).toBe(0), timeoutMs, 500);
  };

  beforeEach(async () => {
    fx = new PipelineFixture(connectionEnv);
    fx.appendToDocsFile(outputsYaml(fx.docs));
    // The in-process ingest loads the same file, so it must know the connection too (its URL is never opened there).
    Object.assign(process.env, connectionEnv);
    await fx.start();
    const loaded = loadCollections(fx.collectionsDir, { connections: [DEFAULT_CONNECTION, CONNECTION] });
    const docs = loaded.find((c) => c.name === fx.docs);
    if (!docs?.projector) throw new Error(`${fx.docs} has no outputs`);
    collection = docs;
    expect(collection.outputs.map((o) => [o.table.slice(fx.docs.length + 1), o.connection, o.isForeach])).toEqual([
      ['facts', CONNECTION, false],
      ['screens', CONNECTION, true],
      ['totals', DEFAULT_CONNECTION, false],
    ]);
  });

  afterEach(async () => {
    await mariadb.start(); // a no-op unless a failed test left it down
    const tables = [fx.docs, ...['facts', 'screens', 'totals'].map((suffix) => `${fx.docs}_${suffix}`)];
    await fx.pg.query(`DROP TABLE IF EXISTS ${[...tables, fx.events].map((t) => `"${t}"`).join(', ')}`);
    if ((await fx.pg.query(`SELECT to_regclass('spillway_tombstones') AS t`)).rows[0]?.t !== null) {
      await fx.pg.query('DELETE FROM spillway_tombstones WHERE collection = $1', [fx.docs]);
    }
    await withMariadb(async (db) => {
      await db.query(`DROP TABLE IF EXISTS ${tables.map((t) => `\`${t}\``).join(', ')}`);
      await db.query('DELETE FROM spillway_tombstones WHERE collection = ?', [fx.docs]);
    });
    for (const name of [fx.docs, fx.events]) {
      let cursor = '0';
      do {
        const [next, keys] = await fx.redis.scan(cursor, 'MATCH', `spw:{${name}.*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await fx.redis.unlink(...keys);
      } while (cursor !== '0');
    }
    await fx.close();
  });

  it('keeps PostgreSQL landing while MariaDB is down; then both equal what Redis acknowledged', async () => {
    const startedSinks = Date.now();
    const pair = await Promise.all([startSink('sink-0'), startSink('sink-1')]);
    const sinksReadyMs = Date.now() - startedSinks;
    for (const sink of pair) {
      expect(Object.keys((await readiness(sink)).body.details ?? {}).sort()).toEqual([
        'database',
        `database:${CONNECTION}`,
        'redis',
        'shutdown',
        'writer',
      ]);
    }

    const started = Date.now();
    const sent = noLoadYet();
    let downFor = 0;
    let restartMs = 0;
    // MariaDB is not the ingest's database: no answer may be a 503.
    const load = runSessionLoad(fx, LOAD, sent, { endsAt: started + LOAD_MS });
    const outage = async () => {
      await sleepUntil(started + STOP_AT_MS);
      await mariadb.stop('kill');
      const downAt = Date.now();
      try {
        const before = await groupStates(fx, fx.docs);
        const settledBefore = await sumOverSinks(pair, 'spillway_sink_entries_total', {
          connection: DEFAULT_CONNECTION,
        });
        // A document first written now lands in PostgreSQL, its state table and its output, while MariaDB is down.
        const probeVersion = await put('probe-pg', { owner: 'u-probe', amount: 7, screens: [] });
        await expectEventually(async () => {
          expect((await pgState()).get('probe-pg')?.version).toBe(probeVersion);
          expect([...(await readOutputTable(fx.db, output('totals'))).keys()]).toContain(JSON.stringify(['probe-pg']));
        }, DOWN_MS);
        const probeLandedMs = Date.now() - downAt;
        // Every sink says which database it cannot reach, and only that one.
        await expectEventually(async () => {
          for (const sink of pair) {
            const { status, body } = await readiness(sink);
            expect(status).toBe(503);
            expect(body.error?.[`database:${CONNECTION}`]?.status).toBe('down');
            expect(body.details?.database?.status).toBe('up');
          }
        }, DOWN_MS);
        const readinessDownMs = Date.now() - downAt;
        await sleepUntil(downAt + DOWN_MS);
        const after = await groupStates(fx, fx.docs);
        const settledAfter = await sumOverSinks(pair, 'spillway_sink_entries_total', {
          connection: DEFAULT_CONNECTION,
        });
        const stillDown = !(await mariadb.accepts());

        return { before, after, settled: settledAfter - settledBefore, probeLandedMs, readinessDownMs, stillDown };
      } finally {
        const restartAt = Date.now();
        await mariadb.start();
        downFor = Date.now() - downAt;
        restartMs = Date.now() - restartAt;
      }
    };
    const [, down] = await Promise.all([load, outage()]);
    const loadMs = Date.now() - started;
    const readyAgainAt = Date.now();
    await Promise.all(pair.map((s) => s.waitUntilReady(60_000)));
    const readyAgainMs = Date.now() - readyAgainAt;
    await drained();
    const drainMs = Date.now() - started - loadMs;

    // While MariaDB was down: PostgreSQL's group kept up and its entries kept settling; MariaDB's group fell behind.
    expect(down.stillDown).toBe(true);
    expect(down.settled).toBeGreaterThan(0);
    const analyticsBefore = backlogOf(down.before.get(ANALYTICS_GROUP));
    const analyticsAfter = backlogOf(down.after.get(ANALYTICS_GROUP));
    expect(analyticsAfter).toBeGreaterThan(analyticsBefore);
    expect(analyticsAfter).toBeGreaterThan(backlogOf(down.after.get(DEFAULT_GROUP)));
    // And it drained: both groups hold nothing.
    expect(Object.fromEntries(await groupStates(fx, fx.docs))).toEqual({
      [DEFAULT_GROUP]: { pending: 0, undelivered: 0 },
      [ANALYTICS_GROUP]: { pending: 0, undelivered: 0 },
    });

    // Both databases hold what Redis acknowledged: the state tables, and every output in its own database.
    const inRedis = await fx.redisDocuments();
    expectSameRows(await pgState(), inRedis, 'PostgreSQL state table');
    const expected = expectedOutputs(collection, inRedis);
    const counts: string[] = [];
    await withMariadb(async (db) => {
      expectSameRows(await readMariadbState(db, fx.docs), inRedis, 'MariaDB state table');
      for (const [t, table] of collection.outputs.entries()) {
        const actual =
          table.connection === CONNECTION ? await readOutputTable(db, table) : await readOutputTable(fx.db, table);
        expectSameRows(actual, expected.tables[t] as TableRows, `${table.connection} ${table.table}`);
        counts.push(`${actual.size} ${table.table.slice(fx.docs.length + 1)} rows`);
      }
    });
    const letters = await Promise.all(fx.partitionsOf(fx.docs).map((keys) => fx.redis.xlen(keys.deadLetters)));
    expect(letters.reduce((a, b) => a + b, 0)).toBe(0);
    const deleted = [...sent.touched].filter((id) => !inRedis.has(id)).length;
    expect(deleted).toBeGreaterThan(0);
    expect(expected.filtered).toBe(0); // the collection has no filter: every document projects to rows
    expect(expected.tables[1]?.size).toBeGreaterThan(0); // screens rows exist

    // The sinks count each connection on its own; only MariaDB's writes were retried.
    const entries = (connection: string) => sumOverSinks(pair, 'spillway_sink_entries_total', { connection });
    const retries = (connection: string) =>
      sumOverSinks(pair, 'spillway_sink_retries_total', { connection, reason: 'database' });
    expect(await entries(CONNECTION)).toBeGreaterThan(0);
    expect(await entries(DEFAULT_CONNECTION)).toBeGreaterThan(0);
    expect(await retries(CONNECTION)).toBeGreaterThan(0);
    expect(await retries(DEFAULT_CONNECTION)).toBe(0);
    for (const sink of pair) expect(sink.unexpectedExits).toEqual([]);

    console.log(
      `connections: sinks ready in ${sinksReadyMs} ms; ${sent.accepted} writes acknowledged (${sent.refused} 404/412) ` +
        `in ${loadMs} ms; MariaDB down ${downFor} ms (restart ${restartMs} ms): a new document landed in PostgreSQL ` +
        `${down.probeLandedMs} ms after the kill, readiness named database:${CONNECTION} after ${down.readinessDownMs} ms, ` +
        `${down.settled} entries settled in PostgreSQL meanwhile, ${ANALYTICS_GROUP} backlog ${analyticsBefore} -> ` +
        `${analyticsAfter}; ready again ${readyAgainMs} ms after the restart, drained ${drainMs} ms after the load; ` +
        `${inRedis.size} live documents, ${deleted} deleted; ${counts.join(', ')}`,
    );
  }, 300_000);

  it('a sink with SINK_CONNECTIONS=analytics serves only the spillway.analytics group', async () => {
    // No sink of the default connection has ever run. The analytics sink creates its group all the same, so trimming
    // keeps every entry PostgreSQL still needs. It opens no other database: k8s/sink-analytics/ gives it no
    // DATABASE_URL, so nothing may answer this one.
    const analyticsSink = await startSink('sink-analytics', {
      SINK_CONNECTIONS: CONNECTION,
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing',
    });
    expect(Object.keys((await readiness(analyticsSink)).body.details ?? {}).sort()).toEqual([
      `database:${CONNECTION}`,
      'redis',
      'shutdown',
      'writer',
    ]);
    const random = mulberry32(LOAD.seed + 1);
    const writes = 40;
    for (let i = 0; i < writes; i++) await put(`a-${i}`, sessionDoc(random, i, SESSIONS));

    await expectEventually(async () =>
      expect(backlogOf((await groupStates(fx, fx.docs)).get(ANALYTICS_GROUP))).toBe(0),
    );
    // Past a pass of the sink's stream maintenance (every 5 s), which trims what every group has acked.
    await sleepUntil(Date.now() + 6000);
    const groups = await groupStates(fx, fx.docs);
    expect([...groups.keys()].sort()).toEqual([DEFAULT_GROUP, ANALYTICS_GROUP]);
    expect(backlogOf(groups.get(DEFAULT_GROUP))).toBe(writes);
    const inRedis = await fx.redisDocuments();
    await withMariadb(async (db) => expectSameRows(await readMariadbState(db, fx.docs), inRedis, 'MariaDB'));
    // PostgreSQL was never touched: no sink of the default connection has made its table yet.
    expect((await fx.pg.query(`SELECT to_regclass($1) AS t`, [fx.docs])).rows[0]?.t).toBeNull();
    const page = await analyticsSink.metrics();
    expect(metricSum(page, 'spillway_sink_entries_total', { connection: CONNECTION, outcome: 'inserted' })).toBe(
      writes,
    );
    expect(metricSum(page, 'spillway_sink_entries_total', { connection: DEFAULT_CONNECTION })).toBe(0);

    // The default connection's own sink, started at last, drains its group: both databases hold what Redis holds.
    const defaultSink = await startSink('sink-default', { SINK_CONNECTIONS: DEFAULT_CONNECTION });
    expect(Object.keys((await readiness(defaultSink)).body.details ?? {}).sort()).toEqual([
      'database',
      'redis',
      'shutdown',
      'writer',
    ]);
    await drained();
    expectSameRows(await pgState(), inRedis, 'PostgreSQL');
    expect(metricSum(await defaultSink.metrics(), 'spillway_sink_entries_total', { connection: CONNECTION })).toBe(0);
  }, 180_000);

  it('dead-letters a value only MariaDB refuses in group spillway.analytics, while PostgreSQL lands it', async () => {
    const sink = await startSink('sink-0');
    const random = mulberry32(LOAD.seed + 2);
    // decimal(65,30) holds 35 digits before the point; PostgreSQL's numeric holds this one.
    const tooLarge = '1e40';
    await put('fine', sessionDoc(random, 0, SESSIONS));
    await put('huge', { ...sessionDoc(random, 1, SESSIONS), amount: tooLarge });
    const deadLetters = fx.partitionsOf(fx.docs).map((keys) => keys.deadLetters);

    await expectEventually(async () => expect(await fx.backlog(fx.docs)).toBe(0));
    const letters = (await Promise.all(deadLetters.map((key) => fx.redis.xrange(key, '-', '+')))).flat();
    expect(letters).toHaveLength(1);
    const fields = Object.fromEntries(
      (letters[0]?.[1] ?? []).flatMap((value, i, all) => (i % 2 === 0 ? [[value, all[i + 1]]] : [])),
    ) as Record<string, string>;
    expect(fields.group).toBe(ANALYTICS_GROUP);
    expect(fields.reason).toMatch(/content: error 1264\b/);
    expect(fields.reason).toContain('(SQLSTATE 22003)');

    // PostgreSQL took the document, in its state table and its output; MariaDB took nothing of it, but took the other.
    expect((await pgState()).get('huge')?.version).toBe(1);
    const totals = await readOutputTable(fx.db, output('totals'));
    expect(Number(totals.get(JSON.stringify(['huge']))?.amount)).toBe(1e40);
    await withMariadb(async (db) => {
      expect([...(await readMariadbState(db, fx.docs)).keys()]).toEqual(['fine']);
      expect([...(await readOutputTable(db, output('facts'))).keys()]).toEqual([JSON.stringify(['fine'])]);
    });
    const page = await sink.metrics();
    const rejected = (connection: string) =>
      metricSum(page, 'spillway_sink_entries_total', { connection, outcome: 'rejected' });
    expect(rejected(CONNECTION)).toBe(1);
    expect(rejected(DEFAULT_CONNECTION)).toBe(0);

    // A newer version MariaDB takes brings it level with PostgreSQL.
    await put('huge', { ...sessionDoc(random, 2, SESSIONS), amount: '5.25' });
    await drained();
    const inRedis = await fx.redisDocuments();
    expectSameRows(await pgState(), inRedis, 'PostgreSQL');
    await withMariadb(async (db) => {
      expectSameRows(await readMariadbState(db, fx.docs), inRedis, 'MariaDB');
      expect((await readOutputTable(db, output('facts'))).get(JSON.stringify(['huge']))?.amount).toBe('5.25');
    });
    expect((await Promise.all(deadLetters.map((key) => fx.redis.xlen(key)))).reduce((a, b) => a + b, 0)).toBe(1);
  }, 120_000);
});
