// npm run bench -- --rows: the row-bound bench (issue 18). The stack as the main bench runs it (Redis AOF everysec,
// the durable database, ingest, sinks started per measurement) with three collections where every entry is a row
// (rows-data.ts): drains of a pre-filled backlog of each collection with 1, 2 and 4 sinks (rows-drain.ts), each
// kind's between two measurements of the raw ceilings of the same rows (rows-raw.ts), and end-to-end runs in `_bulk`
// of each collection with 1, 2 and 4 sinks (rows-e2e.ts); then the results judged and written as
// <date>-rows[-mariadb][-quick|-partial].json and .md (rows-report.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineSpillwayScripts } from '@app/redis';
import { BenchDatabase } from './bench-database';
import { benchStack } from './bench-stack';
import { machineFacts, recordRunEnd, type RunStart } from './host';
import { reportUnexpectedExits } from './app-exits';
import { say } from './log';
import type { BenchOptions } from './options';
import { type RowsCollection, rowsCollections, rowsCollectionSpecs, typedCollection, typedRows } from './rows-data';
import { rowsDrains } from './rows-drain';
import { rowsE2e } from './rows-e2e';
import { rawRows, type RawRowsPass } from './rows-raw';
import { withId } from './workload';
import { judgeRowsTargets, rowsMarkdown, type RowsResults } from './rows-report';

/** Runs the row-bound bench; resolves with the exit code (1 when a part failed or an app exited unexpectedly). */
export async function runRowsBench(options: BenchOptions, start: RunStart): Promise<number> {
  const { specs, outputTables } = rowsCollectionSpecs();
  const results: RowsResults = {
    date: start.date,
    startedAt: start.startedAt,
    options,
    machine: { ...machineFacts(), redis: '', database: '' },
    load: { start: start.load, end: [], uptimeStart: start.uptime, uptimeEnd: '' },
    settings: {},
    raw: [],
    drains: [],
    e2e: [],
    errors: [],
    unexpectedExits: [],
  };
  const stack = benchStack('spillway-bench-rows-', options.database, specs);
  const parts = new Set(options.rowsParts);
  // A part that fails is reported and the next one runs.
  const part = async (name: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      say(`${name} failed: ${message}`);
      results.errors.push(`${name}: ${message}`);
    }
  };
  try {
    say(`starting Redis, ${options.database} and ingest in ${stack.dir}`);
    await stack.start();
    const database = new BenchDatabase(stack.databaseReader);
    const collections = rowsCollections(options.seed, outputTables);
    await database.waitForTables(['spillway_tombstones', ...collections.flatMap((c) => c.target.tables)]);
    await database.prepareStats();
    const [firstSink] = stack.sinks;
    if (firstSink) await stack.removeSink(firstSink);
    const redis = defineSpillwayScripts(stack.redisClient);
    // Backlogs go through the AOF several times over; a rewrite in the middle of a measurement is noise.
    await redis.config('SET', 'auto-aof-rewrite-percentage', '0');
    results.machine.redis = String(/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]);
    results.machine.database = await database.version();
    results.settings = {
      redis: 'appendonly yes, appendfsync everysec, auto-aof-rewrite-percentage 0 (set by the bench)',
      [options.database]: await database.settings(),
      sink: 'defaults (SINK_BATCH_SIZE 500, SINK_BLOCK_MS 1000)',
      ingest: 'defaults, INGEST_MAX_BACKLOG 1e9',
    };
    const byKind = (kind: RowsCollection['kind']): RowsCollection =>
      collections.find((c) => c.kind === kind) as RowsCollection;
    const typed = typedCollection(stack);
    // A kind's ceilings right before its drains and right after them: the machine's speed drifts within a run.
    const rawCeilings = (kind: RowsCollection['kind'], pass: RawRowsPass) =>
      part(`raw ceilings of ${kind}, pass ${pass}`, async () => {
        say(`raw ceilings of ${kind} (pass ${pass}): ${options.rowsRawRows} rows, batches of ${options.batchSize}`);
        await rawRows(
          {
            database: options.database,
            databaseUrl: stack.databaseUrl,
            kind,
            pass,
            rows: options.rowsRawRows,
            batchSize: options.batchSize,
            payloads: byKind(kind).payloads,
            typed,
            say,
          },
          results.raw,
        );
      });
    for (const collection of collections) {
      const drains = parts.has(collection.kind);
      if (parts.has('raw')) await rawCeilings(collection.kind, 1);
      if (!drains) continue;
      await part(`${collection.kind} drains`, async () => {
        say(`${collection.kind} drains of ${options.entries} first writes, ${options.replicaCounts.join(', ')} sinks`);
        results.drains.push(
          ...(await rowsDrains({
            stack,
            database,
            collection,
            entries: options.entries,
            replicaCounts: options.replicaCounts,
            warmUpEntries: options.rowsWarmUpEntries,
            timeoutMs: options.drainTimeoutMs,
            say,
          })),
        );
      });
      if (parts.has('raw')) await rawCeilings(collection.kind, 2);
    }
    if (parts.has('e2e')) {
      const typedRowsPerPayload = byKind('typed').payloads.map(
        (payload, i) => typedRows(typed, { ids: [`p${i}`], docs: [withId(`p${i}`, payload)] }).rows,
      );
      // Kinds named in --only narrow the end-to-end runs too; none named: every kind.
      const named = collections.filter((c) => parts.has(c.kind)).map((c) => c.kind);
      for (const kind of named.length > 0 ? named : collections.map((c) => c.kind)) {
        for (const replicas of options.replicaCounts) {
          await part(`${kind} end to end, ${replicas} sinks`, async () => {
            results.e2e.push(
              await rowsE2e({
                stack,
                database,
                collection: byKind(kind),
                items: options.rowsE2eItems,
                ...(kind === 'typed' ? { rowsPerPayload: typedRowsPerPayload } : {}),
                warmUpItems: options.rowsE2eWarmUpItems,
                itemsPerRequest: options.bulkOps,
                clients: options.rowsE2eClients,
                replicas,
                timeoutMs: options.drainTimeoutMs,
                say,
              }),
            );
          });
        }
      }
    }
  } finally {
    results.unexpectedExits = reportUnexpectedExits([stack.ingest, ...stack.allSinks]);
    await stack.stop();
  }
  recordRunEnd(results, start);
  results.targets = judgeRowsTargets(results);

  const suffix =
    `-rows${options.database === 'postgres' ? '' : `-${options.database}`}` +
    (options.quick ? '-quick' : options.partial ? '-partial' : '');
  const base = join(options.out, `${results.date}${suffix}`);
  mkdirSync(options.out, { recursive: true });
  const table = rowsMarkdown(results);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, table);
  say(results.load.uptimeEnd);
  say(`wrote ${base}.json, .md`);
  process.stdout.write(`\n${table}`);

  return results.unexpectedExits.length || results.errors.length ? 1 : 0;
}
