import { type Collection, type ColumnType, loadCollections, type OutputTable } from '@app/collections';
import { allPartitions } from '@app/contracts';
import { mulberry32 } from '../tools/shared/random';
import { AppProcess } from '../tools/local-stack';
import { forEachDialect } from './utils/dialects';
import { expectEventually } from './utils/expect-eventually';
import { metricSum } from './utils/metrics';
import { PipelineFixture } from './utils/pipeline-fixture';

/**
 * The pipeline convergence check on a mapped collection, once on PostgreSQL and once on MariaDB: transform blocks, a
 * filter, a typed output and a foreach child table. Ingest in-process, 3 sink processes (the built app), a seeded load
 * of puts, patches (the screens array grows, shrinks, empties, goes) and deletes, while one sink is killed with SIGKILL
 * and the database crashes (PostgreSQL's immediate shutdown, SIGKILL to mariadbd) and starts again. Once drained,
 * every output table must equal, row for row, what the real projector makes of the documents Redis holds.
 *
 * Real: ingest app, Redis, PostgreSQL or MariaDB, sink processes, the collection's projector. Mocked: nothing.
 */

/** Seconds of load, and when (ms into the load) each fault happens. */
const LOAD_MS = 24_000;
const KILL_AT_MS = 5_000;
const REPLACE_AT_MS = 8_000;
const DB_STOP_AT_MS = 11_000;
const DB_DOWN_MS = 4_000;
/** A 503 is a documented answer while the database is down (ids Redis does not hold need their version floor). */
const DB_RECOVERY_GRACE_MS = 3_000;
const CLIENTS = 8;
const PAUSE_BETWEEN_OPS_MS = 20;
const IDS = 120;
const SEED = 1515;

/**
 * The transform blocks and outputs of the test's collection, writing tables named after it: the child table in a
 * schema of its own (on MariaDB a database, which the sink creates).
 */
function outputsYaml(facts: string, screens: { schema: string; table: string }): string {
  return `
transform:
  - uses: rename_field
    with: { from_field: device.type, to_field: device_type }
  - uses: add_field
    with:
      fields:
        - { field: screen_count, language: jmespath, expression: 'length(screens || \`[]\`)' }
        - { field: seconds_in_app, expression: 'sum(screens[].seconds || \`[]\`)' }
  - uses: remove_field
    with: { field: secret }
  - uses: filter
    with: { language: jmespath, expression: "status != 'draft'" }
output:
  - uses: relational.write
    with:
      table: ${facts}
      keys: [id]
      mapping:
        - user_id: owner
        - device_type
        - device
        - status
        - amount
        - started_at: startedAt
        - started_ms: startedMs
        - day
        - premium
        - secret
        - screen_count
        - seconds_in_app
      columns:
        id: text
        user_id: text
        device_type: text
        device: jsonb
        status: text
        amount: numeric
        started_at: timestamptz
        started_ms: bigint
        day: date
        premium: boolean
        secret: text
        screen_count: integer
        seconds_in_app: double
  - uses: relational.write
    with:
      schema: ${screens.schema}
      table: ${screens.table}
      foreach: 'screen: screens[]'
      keys: [{ session_id: id }, { position: screen.position }]
      mapping: [{ name: screen.name }, { seconds: screen.seconds }]
      columns: { session_id: text, position: integer, name: text, seconds: double }
`;
}

type Random = () => number;

const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;

/** An RFC 3339 date-time at `ms`, with a +02:00 offset half of the time, else as milliseconds since the epoch. */
function startedAt(random: Random, ms: number): string | number {
  if (random() < 0.5) return ms;
  const local = new Date(ms + 2 * 3_600_000).toISOString();

  return `${local.slice(0, -1)}+02:00`;
}

/** 0 to 6 screens, positions 0..n-1; some without seconds (a NULL). */
function screensOf(random: Random): object[] {
  const count = Math.floor(random() * 7);

  return Array.from({ length: count }, (_, position) => ({
    position,
    name: pick(random, ['home', 'accounts', 'transfer', 'cards', 'settings', 'support']),
    ...(random() < 0.9 ? { seconds: Math.round(random() * 300_000) / 1000 } : {}),
  }));
}

function sessionDoc(random: Random, i: number): object {
  const ms = Date.UTC(2024, 0, 1) + Math.floor(random() * 365 * 86_400_000);

  return {
    owner: `u${i % 23}`,
    status: pick(random, ['active', 'idle', 'closed', 'draft']),
    device: { type: pick(random, ['ios', 'android', 'web']), model: pick(random, ['p7', 's23', 'x']) },
    // A number, a decimal string kept exactly, or missing (NULL).
    ...(random() < 0.8 ? { amount: Math.round(random() * 1_000_000) / 100 } : { amount: '12.50' }),
    startedAt: startedAt(random, ms),
    startedMs: random() < 0.7 ? ms : String(ms),
    ...(random() < 0.8 ? { day: new Date(ms).toISOString().slice(0, 10) } : {}),
    ...(random() < 0.7 ? { premium: pick<boolean | string>(random, [true, false, 'true', 'false']) } : {}),
    secret: 'never in an output',
    screens: screensOf(random),
  };
}

/** A merge patch (RFC 7396): replaces the screens array, removes it, flips the status, or changes scalars. */
function sessionPatch(random: Random, i: number): object {
  const roll = random();
  if (roll < 0.35) return { screens: screensOf(random) }; // grows, shrinks, or empties it
  if (roll < 0.45) return { screens: null };
  if (roll < 0.7) return { status: pick(random, ['active', 'draft', 'closed']) };
  if (roll < 0.85) return { device: { model: `m${i % 5}` }, amount: null };

  return { amount: Math.round(random() * 1_000_000) / 100, premium: null, step: i };
}

interface LoadResult {
  accepted: number;
  refused: number;
  unavailable: number;
  touched: Set<string>;
}

/**
 * Seeded puts / patches / deletes (45/40/15) over IDS documents from CLIENTS clients, paced, until `endsAt`. A 503
 * counts as unavailable while `dbDown()` says the database is (or was just) down, and fails the load otherwise.
 */
async function runSessionLoad(
  fx: PipelineFixture,
  result: LoadResult,
  endsAt: number,
  dbDown: () => boolean,
): Promise<void> {
  const random = mulberry32(SEED);
  let i = 0;
  const client = async () => {
    while (Date.now() < endsAt) {
      const n = i++;
      const id = `s-${Math.floor(random() * IDS)}`;
      const roll = random();
      const [method, body] =
        roll < 0.45
          ? (['PUT', sessionDoc(random, n)] as const)
          : roll < 0.85
            ? (['PATCH', sessionPatch(random, n)] as const)
            : (['DELETE', undefined] as const);
      const reply = await fx.request(method, `/v1/${fx.docs}/${id}`, body);
      if (reply.status === 202) {
        result.accepted++;
        result.touched.add(id);
      } else if (reply.status === 404 || reply.status === 412) {
        result.refused++; // a patch or delete of a document that is not live; a patch that lost 5 races in a row
      } else if (reply.status === 503 && dbDown()) {
        result.unavailable++;
      } else {
        throw new Error(`${method} ${id}: ${reply.status} ${JSON.stringify(reply.body)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, PAUSE_BETWEEN_OPS_MS));
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

/** One cell, as the test compares it: driver and projector values brought to one form per column type. */
function normalise(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'text':
    case 'uuid':
    case 'date': // read as text (the reader's form), as the projector makes it: YYYY-MM-DD
    case 'bigint': // a decimal string from both the reader and the projector
      return value;
    case 'boolean': // MariaDB's boolean is a tinyint: 1 or 0
      return typeof value === 'number' ? value !== 0 : value;
    case 'integer':
    case 'double':
      return Number(value);
    case 'numeric':
      // PostgreSQL keeps the scale it was given ("12.50"), MariaDB's decimal(65,30) pads to 30 places: compare the
      // decimal's value, not its spelling.
      return (value as string).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
    case 'timestamptz':
      return new Date(value as string | Date).toISOString();
    case 'jsonb':
      return typeof value === 'string' ? JSON.parse(value) : value;
  }
}

/** Rows keyed by their primary key's values; each row maps column name to its normalised value. */
type TableRows = Map<string, Record<string, unknown>>;

function keyOf(table: OutputTable, row: Record<string, unknown>): string {
  return JSON.stringify(table.columns.filter((c) => c.isKey).map((c) => row[c.name]));
}

async function readTable(fx: PipelineFixture, table: OutputTable): Promise<TableRows> {
  const columns = [...table.columns.map((c) => c.name), table.versionColumn];
  const rows = await fx.db.rows(table.table, { schema: table.schema, columns });
  const found: TableRows = new Map();
  for (const row of rows) {
    const normalised: Record<string, unknown> = { [table.versionColumn]: String(row[table.versionColumn]) };
    for (const column of table.columns) normalised[column.name] = normalise(column.type, row[column.name]);
    found.set(keyOf(table, normalised), normalised);
  }

  return found;
}

interface Expected {
  tables: TableRows[];
  filtered: number;
  withScreens: number;
  withoutScreens: number;
}

/** What the documents Redis holds project to, by the collection's own projector, with their versions. */
async function expectedOutputs(fx: PipelineFixture, collection: Collection): Promise<Expected> {
  const projector = collection.projector;
  if (!projector) throw new Error(`${collection.name} has no outputs`);
  const expected: Expected = {
    tables: collection.outputs.map(() => new Map()),
    filtered: 0,
    withScreens: 0,
    withoutScreens: 0,
  };
  for (const [id, { version, doc }] of await fx.redisDocuments()) {
    const projection = projector.project(doc);
    if (projection.kind === 'invalid') throw new Error(`${id} v${version} does not project: ${projection.reason}`);
    if (projection.kind === 'filtered') {
      expected.filtered++;
      continue;
    }
    collection.outputs.forEach((table, t) => {
      const rows = projection.rows[t] ?? [];
      if (table.isForeach) {
        if (rows.length > 0) expected.withScreens++;
        else expected.withoutScreens++;
      }
      for (const row of rows) {
        const normalised: Record<string, unknown> = { [table.versionColumn]: String(version) };
        table.columns.forEach((column, c) => {
          normalised[column.name] = normalise(column.type, row[c]);
        });
        expected.tables[t]?.set(keyOf(table, normalised), normalised);
      }
    });
  }

  return expected;
}

describe('pipeline with typed outputs', () => {
  forEachDialect((database) => {
    let fx: PipelineFixture;
    let sinks: AppProcess[] = [];

    const startSink = async () => {
      const consumer = `sink-${sinks.length}`;
      const sink = new AppProcess(consumer, 'sink', { ...fx.sinkEnv, SINK_CONSUMER: consumer, LOG_LEVEL: 'log' });
      sinks.push(sink);
      await sink.start();
      await sink.waitUntilReady(30_000);

      return sink;
    };

    const drained = async (timeoutMs = 90_000) => {
      await expectEventually(async () => expect(await fx.backlog(fx.docs)).toBe(0), timeoutMs);
    };

    const sleepUntil = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

    beforeEach(async () => {
      fx = new PipelineFixture({}, database);
      fx.appendToDocsFile(outputsYaml(`${fx.docs}_facts`, { schema: `${fx.docs}_ext`, table: `${fx.docs}_screens` }));
      await fx.start();
    });

    afterEach(async () => {
      await Promise.all(sinks.map((s) => s.terminate()));
      sinks = [];
      try {
        await fx.db.dropSchema(`${fx.docs}_ext`);
      } finally {
        await fx.close();
      }
    });

    it('converges through a SIGKILL and a database crash: every output table equals what Redis projects to', async () => {
      const collection = loadCollections(fx.collectionsDir).find((c) => c.name === fx.docs);
      if (!collection?.projector) throw new Error(`${fx.docs} has no outputs`);
      expect(collection.outputs.map((o) => [o.schema, o.table, o.isForeach])).toEqual([
        ['public', `${fx.docs}_facts`, false],
        [`${fx.docs}_ext`, `${fx.docs}_screens`, true],
      ]);
      const [victim] = await Promise.all([startSink(), startSink(), startSink()]);

      const started = Date.now();
      let dbDownUntil = 0;
      const sent: LoadResult = { accepted: 0, refused: 0, unavailable: 0, touched: new Set() };
      const load = runSessionLoad(fx, sent, started + LOAD_MS, () => Date.now() < dbDownUntil);
      const faults = async () => {
        await sleepUntil(started + KILL_AT_MS);
        // Kill the victim while it holds delivered, unacked entries: those must be reclaimed by the others.
        // Freeze it first, so that what it holds when counted is what it holds when killed.
        let held = 0;
        await expectEventually(
          async () => {
            victim.signal('SIGSTOP');
            held = (await fx.redis.xpending(fx.stream(fx.docs), 'spillway', '-', '+', 1000, victim.name)).length;
            if (held === 0) {
              victim.signal('SIGCONT');
              throw new Error('victim holds nothing yet');
            }
          },
          10_000,
          5,
        );
        await victim.kill();
        await sleepUntil(started + REPLACE_AT_MS);
        await startSink();
        await sleepUntil(started + DB_STOP_AT_MS);
        dbDownUntil = Number.POSITIVE_INFINITY;
        await database.stop('crash');
        // Stopping can take a while on a busy machine: keep it down for a while after it is really down.
        const acceptedBefore = sent.accepted;
        let whileDown: { accepted: number; backlog: number };
        try {
          await sleepUntil(Math.max(started + DB_STOP_AT_MS + DB_DOWN_MS, Date.now() + DB_DOWN_MS / 2));
          whileDown = { accepted: sent.accepted - acceptedBefore, backlog: await fx.backlog(fx.docs) };
        } finally {
          await database.start();
          dbDownUntil = Date.now() + DB_RECOVERY_GRACE_MS;
        }

        return { held, whileDown };
      };
      const [, { held, whileDown }] = await Promise.all([load, faults()]);
      const loadMs = Date.now() - started;
      await drained();
      const drainMs = Date.now() - started - loadMs;

      // The state table follows Redis, as for a plain collection.
      const [inRedis, inTable] = await Promise.all([fx.redisDocuments(), fx.tableRows()]);
      expect([...inTable.keys()].sort()).toEqual([...inRedis.keys()].sort());
      for (const [id, expected] of inRedis) expect(inTable.get(id), id).toEqual(expected);

      // Every output table equals the projection of the live documents: deleted and filtered ones have no rows.
      const expected = await expectedOutputs(fx, collection);
      const counts: string[] = [];
      for (const [t, table] of collection.outputs.entries()) {
        const actual = await readTable(fx, table);
        const want = expected.tables[t] as TableRows;
        expect([...actual.keys()].sort(), table.table).toEqual([...want.keys()].sort());
        for (const [key, row] of want) expect(actual.get(key), `${table.table} ${key}`).toEqual(row);
        counts.push(`${actual.size} ${table.table.slice(fx.docs.length + 1)} rows`);
      }
      const deleted = [...sent.touched].filter((id) => !inRedis.has(id)).length;
      const letters = await Promise.all(allPartitions(fx.docs).map((keys) => fx.redis.xlen(keys.deadLetters)));
      expect(letters.reduce((a, b) => a + b, 0)).toBe(0);

      // The run covered what it claims to: deletes, filtered documents, documents with and without screens.
      expect(deleted).toBeGreaterThan(0);
      expect(expected.filtered).toBeGreaterThan(0);
      expect(expected.withScreens).toBeGreaterThan(0);
      expect(expected.withoutScreens).toBeGreaterThan(0);
      // Ingest takes writes of the documents Redis holds while the database is down; the sinks ack none of them.
      expect(whileDown.accepted).toBeGreaterThan(0);
      expect(whileDown.backlog).toBeGreaterThanOrEqual(whileDown.accepted);
      const pages = await Promise.all(sinks.filter((s) => s !== victim).map((s) => s.metrics()));
      const reclaimed = pages.map((p) => metricSum(p, 'spillway_sink_reclaimed_total')).reduce((a, b) => a + b, 0);
      expect(reclaimed).toBeGreaterThanOrEqual(held);
      const filteredEntries = pages
        .map((p) => metricSum(p, 'spillway_sink_entries_total', { collection: fx.docs, outcome: 'filtered' }))
        .reduce((a, b) => a + b, 0);
      expect(filteredEntries).toBeGreaterThan(0);
      console.log(
        `pipeline-outputs: ${sent.accepted} writes acknowledged (${sent.refused} 404, ${sent.unavailable} 503 while ` +
          `${database.label} was down) in ${loadMs} ms, drained ${drainMs} ms later; ${inRedis.size} live documents ` +
          `(${expected.filtered} filtered), ${deleted} deleted; ${counts.join(', ')}; victim held ${held}, ` +
          `${reclaimed} reclaimed, ${filteredEntries} entries filtered; ${whileDown.accepted} writes taken ` +
          `while ${database.label} was down, backlog ${whileDown.backlog} as it returned`,
      );
    }, 240_000);
  });
});
