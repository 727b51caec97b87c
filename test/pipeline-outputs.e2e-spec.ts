import { loadCollections } from '@app/collections';
import { forEachDialect } from './utils/dialects';
import { expectEventually } from './utils/expect-eventually';
import { metricSum } from './utils/metrics';
import { PipelineFixture } from './utils/pipeline-fixture';
import {
  expectedOutputs,
  expectSameRows,
  noLoadYet,
  readOutputTable,
  runSessionLoad,
  type SessionLoad,
  type SessionShape,
  type TableRows,
} from './utils/session-outputs';

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

/** Sessions with a `draft` status (filtered out) and a `secret` (removed): every value converts for the outputs. */
const SESSIONS: SessionShape = {
  owners: 23,
  statuses: ['active', 'idle', 'closed', 'draft'],
  patchStatuses: ['active', 'draft', 'closed'],
  maxScreens: 6,
  screenNames: ['home', 'accounts', 'transfer', 'cards', 'settings', 'support'],
  amountShares: { number: 0.8, text: 0.2 },
  extra: () => ({ secret: 'never in an output' }),
  patchExtra: (_random, i) => ({ step: i }),
};

const LOAD: SessionLoad = { shape: SESSIONS, seed: 1515, ids: 120, clients: 8, pauseBetweenOpsMs: 20 };

describe('pipeline with typed outputs', () => {
  forEachDialect((database) => {
    let fx: PipelineFixture;

    const startSink = () => fx.startSink();

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
      try {
        await fx.db.dropSchema(`${fx.docs}_ext`);
      } finally {
        await fx.close();
      }
    });

    it('writes a deep backlog of superseded versions (in one gathered write on PostgreSQL), its outputs those of the last', async () => {
      for (let step = 1; step <= 300; step++) {
        const screens = Array.from({ length: 1 + (step % 3) }, (_, position) => ({
          position,
          name: 'home',
          seconds: step,
        }));
        const put = await fx.request('PUT', `/v1/${fx.docs}/hot`, { owner: 'a', status: 'active', step, screens });
        expect(put.status).toBe(202);
      }
      const sink = await fx.startSink({ SINK_BATCH_SIZE: '50' }); // six reads
      await drained();

      const collection = loadCollections(fx.collectionsDir).find((c) => c.name === fx.docs);
      if (!collection) throw new Error(`no collection ${fx.docs}`);
      const expected = expectedOutputs(collection, await fx.redisDocuments());
      for (const [t, table] of collection.outputs.entries()) {
        expectSameRows(await readOutputTable(fx.db, table), expected.tables[t] as TableRows, table.table);
      }
      expect(expected.withScreens).toBe(1);
      const page = await sink.metrics();
      const count = (outcome: string) =>
        metricSum(page, 'spillway_sink_entries_total', { collection: fx.docs, outcome });
      expect([count('inserted'), count('updated'), count('stale')]).toEqual([1, 0, 299]);
      // Every read came back full with nothing to write but the last: on PostgreSQL the six are gathered into one
      // write; MariaDB's writes gain nothing from it, and go read by read.
      const batches = metricSum(page, 'spillway_sink_batch_size_count', { collection: fx.docs });
      expect(batches).toBe(database.kind === 'postgres' ? 1 : 6);
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
      const sent = noLoadYet();
      const load = runSessionLoad(fx, LOAD, sent, {
        endsAt: started + LOAD_MS,
        unavailableAllowed: () => Date.now() < dbDownUntil,
      });
      const faults = async () => {
        await sleepUntil(started + KILL_AT_MS);
        // Kill the victim while it holds delivered, unacked entries: those must be reclaimed by the others.
        // Freeze it first, so that what it holds when counted is what it holds when killed.
        let held = 0;
        await expectEventually(
          async () => {
            victim.signal('SIGSTOP');
            held = await fx.heldBy(fx.docs, victim.name);
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
      expectSameRows(inTable, inRedis, 'state table');

      // Every output table equals the projection of the live documents: deleted and filtered ones have no rows.
      const expected = expectedOutputs(collection, inRedis);
      const counts: string[] = [];
      for (const [t, table] of collection.outputs.entries()) {
        const actual = await readOutputTable(fx.db, table);
        expectSameRows(actual, expected.tables[t] as TableRows, table.table);
        counts.push(`${actual.size} ${table.table.slice(fx.docs.length + 1)} rows`);
      }
      const deleted = [...sent.touched].filter((id) => !inRedis.has(id)).length;
      const letters = await Promise.all(fx.partitionsOf(fx.docs).map((keys) => fx.redis.xlen(keys.deadLetters)));
      expect(letters.reduce((a, b) => a + b, 0)).toBe(0);

      // The run covered what it claims to: deletes, filtered documents, documents with and without screens.
      expect(deleted).toBeGreaterThan(0);
      expect(expected.filtered).toBeGreaterThan(0);
      expect(expected.withScreens).toBeGreaterThan(0);
      expect(expected.withoutScreens).toBeGreaterThan(0);
      // Ingest takes writes of the documents Redis holds while the database is down; the sinks ack none of them.
      expect(whileDown.accepted).toBeGreaterThan(0);
      expect(whileDown.backlog).toBeGreaterThanOrEqual(whileDown.accepted);
      const pages = await Promise.all(fx.sinks.filter((s) => s !== victim).map((s) => s.metrics()));
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
