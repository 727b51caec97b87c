// The row-bound drains (npm run bench -- --rows): for one collection of rows-data.ts, a backlog of first writes (one
// entry an id, every entry a row) kept as a template, drained by 1, 2 and 4 sinks with phase 3's machinery
// (sink-phase.ts drainRun: sinks started, warmed up on backlogs of other ids, one a sink, tables truncated, the
// template copied in, timed until every entry is acked). Rows landed are the tables' row counts after the drain (they
// were empty before it); the CPU each process spent and the RSS of each after the drain are kept beside them.
import type { Redis } from 'ioredis';
import type { BenchDatabase } from './bench-database';
import { fillFirstWrites, removeDocumentHashes, type RowsCollection, type RowsKind, uniqueIds } from './rows-data';
import { type StackRss, stackRss } from './rows-processes';
import { buildTemplate, type DrainRun, drainRun, dropTemplates, type TableRows, type Template } from './sink-phase';
import { round } from './stats';
import type { Stack } from '../../tools/local-stack';

export interface RowsDrainOptions {
  stack: Stack;
  database: BenchDatabase;
  collection: RowsCollection;
  entries: number;
  replicaCounts: number[];
  /** entries of each warm-up backlog (one a sink) */
  warmUpEntries: number;
  timeoutMs: number;
  say: (line: string) => void;
}

/** CPU seconds a million rows landed. */
export interface CpuPerMillionRows {
  /** each sink's */
  sinks: (number | null)[];
  /** the sinks' together */
  allSinks: number | null;
  redis: number | null;
  database: number | null;
}

/** One timed drain of a row-bound backlog. */
export interface RowsDrain {
  kind: RowsKind;
  collection: string;
  replicas: number;
  entries: number;
  acked: number;
  timedOut: boolean;
  drainMs: number;
  entriesPerSec: number | null;
  /** rows every table of the collection holds after the drain, together */
  rowsLanded: number;
  rowsPerSec: number | null;
  /** the state (or event) table's rows a second */
  stateRowsPerSec: number | null;
  tables: TableRows[];
  outcomes: Record<string, number>;
  meanBatchSize: number | null;
  batchWriteMs: DrainRun['batchWriteMs'];
  coldStartEntriesPerSec: number | null;
  cpu: DrainRun['cpu'];
  /** CPU seconds in hundredths: each sink's, Redis's, the database's */
  cpuFine: DrainRun['cpuFine'];
  cpuPerMillionRows: CpuPerMillionRows;
  rss: StackRss;
}

const perMillion = (seconds: number, rows: number): number | null =>
  rows > 0 ? round((seconds / rows) * 1e6, 1) : null;

/** Ids of a kind's timed backlog, and of its k-th warm-up backlog: none of them in another backlog of the run. */
const idPrefix = (kind: RowsKind, warmUp?: number): string => `${kind[0]}${warmUp === undefined ? '' : `w${warmUp}`}-`;

/** A template of first writes, one a unique id. */
function firstWritesTemplate(redis: Redis, collection: RowsCollection, name: string, ids: string[]): Promise<Template> {
  return buildTemplate(redis, {
    name,
    entries: ids.length,
    ids: [],
    docs: [],
    seed: 0,
    target: collection.target,
    fill: (r, keys) => fillFirstWrites(r, keys, collection.kind, ids, collection.payloads),
  });
}

/** The collection's backlog drained by each replica count in turn; its templates and hashes removed after. */
export async function rowsDrains(o: RowsDrainOptions): Promise<RowsDrain[]> {
  const redis = o.stack.redisClient;
  const { collection } = o;
  const { kind, target } = collection;
  const templates: Template[] = [];
  const drains: RowsDrain[] = [];
  try {
    const main = await firstWritesTemplate(redis, collection, `${kind}-rows`, uniqueIds(idPrefix(kind), o.entries));
    templates.push(main);
    o.say(
      `backlog '${main.name}': ${main.entries} first writes written in ${main.fillMs} ms (${main.fillRatePerSec}/s)`,
    );
    const warmUps: Template[] = [];
    for (let k = 1; k <= Math.max(...o.replicaCounts); k++) {
      const ids = uniqueIds(idPrefix(kind, k), o.warmUpEntries);
      warmUps.push(await firstWritesTemplate(redis, collection, `${kind}-warm-up-${k}`, ids));
    }
    templates.push(...warmUps);
    o.say(`warm-up backlogs: ${warmUps.length} of ${o.warmUpEntries} first writes`);
    for (const replicas of o.replicaCounts) {
      const run = await drainRun({
        stack: o.stack,
        database: o.database,
        replicas,
        template: main.name,
        entries: main.entries,
        warmUps,
        timeoutMs: o.timeoutMs,
        say: o.say,
        target,
        keepDocuments: true,
      });
      drains.push(rowsDrain(collection, run, stackRss(o.stack, run.rssSinks)));
      const last = drains[drains.length - 1];
      o.say(
        `${kind} drain, ${replicas} sink(s): ${last?.rowsLanded} rows landed, ${last?.rowsPerSec} rows/s ` +
          `(${last?.tables.map((t) => `${t.table} ${t.rows}`).join(', ')})`,
      );
    }
  } finally {
    await dropTemplates(redis, target.keys, templates);
    await removeDocumentHashes(redis, target.keys);
  }

  return drains;
}

function rowsDrain(collection: RowsCollection, run: DrainRun, rss: StackRss): RowsDrain {
  const rowsLanded = run.tables.reduce((n, t) => n + t.rows, 0);
  const ms = run.drainMs;

  return {
    kind: collection.kind,
    collection: collection.name,
    replicas: run.replicas,
    entries: run.entries,
    acked: run.acked,
    timedOut: run.timedOut,
    drainMs: ms,
    entriesPerSec: run.entriesPerSec,
    rowsLanded,
    rowsPerSec: round((rowsLanded / ms) * 1000),
    stateRowsPerSec: round(((run.tables[0]?.rows ?? 0) / ms) * 1000),
    tables: run.tables,
    outcomes: run.outcomes,
    meanBatchSize: run.meanBatchSize,
    batchWriteMs: run.batchWriteMs,
    coldStartEntriesPerSec: run.coldStart?.entriesPerSec ?? null,
    cpu: run.cpu,
    cpuFine: run.cpuFine,
    cpuPerMillionRows: {
      sinks: run.cpuFine.sinksEachS.map((s) => perMillion(s, rowsLanded)),
      allSinks: perMillion(
        run.cpuFine.sinksEachS.reduce((a, b) => a + b, 0),
        rowsLanded,
      ),
      redis: perMillion(run.cpuFine.redisS, rowsLanded),
      database: perMillion(run.cpuFine.databaseS, rowsLanded),
    },
    rss,
  };
}
