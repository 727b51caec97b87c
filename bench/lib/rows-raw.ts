// The row-bound bench's raw ceilings (npm run bench -- --rows): the same first writes the drains land, written from
// one plain client in batches of SINK_BATCH_SIZE (500), each batch its own commit, into empty copies of the sink's
// tables. The ways a kind (events, plain documents): multi-row statements (as text, and on PostgreSQL also prepared), a
// bulk load into a staging table then one INSERT … SELECT a batch, and the bulk load straight into the table (the
// absolute ceiling). For the typed collection, its rows (its state table's and every output table's, as its projector
// makes them before the pass) by the bulk load into its own tables, each batch one transaction: the most entries a
// second the database takes for it. The SQL of each database is in rows-raw-pg.ts and rows-raw-mariadb.ts.
// A kind's ceilings are measured right before its drains and again right after them (rows-run.ts), and the drains
// are judged against the mean of the two: this machine's speed drifts by a third within minutes.
import type { Collection } from '@app/collections';
import type { DatabaseKind } from '../../tools/local-stack';
import { rowsRawMariadb } from './rows-raw-mariadb';
import { rowsRawPostgres } from './rows-raw-pg';
import { msSince, percentile, round } from './stats';
import { withId } from './workload';

/**
 * The ways of writing a batch: multi-row statements with their values in the text (as psql, or mysql2's `query`,
 * sends them: the ceiling the targets use, as the issue measured it), the same prepared once with its values as
 * parameters (PostgreSQL only), staging + INSERT … SELECT, the bulk load alone.
 */
export type RawRowsMode = 'multi-row' | 'multi-row-prepared' | 'staging' | 'direct';
export const RAW_ROWS_MODES: readonly RawRowsMode[] = ['multi-row', 'multi-row-prepared', 'staging', 'direct'];

/** The kinds of rows the raw ceilings are measured for. */
export type RawRowsKind = 'events' | 'documents' | 'typed';
/** The kinds where each entry is one row, into one table. */
export type OneRowKind = Exclude<RawRowsKind, 'typed'>;

/** One batch: ids and their whole JSON texts (with "id"); documents at version 1. */
export interface RowsBatch {
  ids: string[];
  docs: string[];
}

/**
 * A batch's documents as first writes, for a `COPY` or `LOAD DATA` text: `[id, '1' (the version), doc, ...times]`,
 * with one time for a staging table's `ts` and two for a state table's `created_at` and `updated_at`.
 */
export const firstWriteRows = ({ ids, docs }: RowsBatch, times: readonly string[]): string[][] =>
  ids.map((id, i) => [id, '1', docs[i] ?? '', ...times]);

/** Writes one batch in its own transaction. */
export type RowsBatchWriter = (batch: RowsBatch) => Promise<void>;

/** One kind's writers on an open connection: each mode's, and emptying the table before a pass. */
export interface RawRowsTarget {
  truncate(): Promise<void>;
  /** rows its tables hold */
  count(): Promise<number>;
  /** rows a pass lands in its tables where it is not one an entry (typed: the state's and the outputs' rows) */
  rowsPerPass?: number;
  /** a mode the database lacks is left out */
  writers: Partial<Record<RawRowsMode, RowsBatchWriter>>;
}

/** What a database offers the passes: a target per kind (none where it measures none), and closing it. */
export interface RawRowsSession {
  /** `batches` are the pass's, for a target that prepares its rows before the pass is timed */
  target(kind: RawRowsKind, batches: readonly RowsBatch[]): Promise<RawRowsTarget | undefined>;
  close(): Promise<void>;
}

/** One pass: every row once, one client. */
export interface RawRowsRun {
  kind: RawRowsKind;
  mode: RawRowsMode;
  /** 1 before the kind's drains, 2 after them (absent in runs from before the second pass: 1) */
  pass?: RawRowsPass;
  batchSize: number;
  /** entries written: a row each, or (typed) a document and its outputs' rows */
  rows: number;
  /** rows the tables held after the pass (all of them, or the pass failed) */
  held: number;
  /** rows landed a second, in all the tables */
  rowsPerSec: number | null;
  /** entries a second (absent in runs from before the typed kind: the rows a second, one row an entry) */
  entriesPerSec?: number | null;
  batchMs: { p50: number | null; p99: number | null };
}

/** Which measurement of a kind's ceilings: 1 before its drains, 2 after them. */
export type RawRowsPass = 1 | 2;

export interface RawRowsOptions {
  database: DatabaseKind;
  kind: RawRowsKind;
  pass: RawRowsPass;
  databaseUrl: string;
  rows: number;
  batchSize: number;
  /** the kind's payloads, without "id" */
  payloads: string[];
  /** the typed collection, whose projector makes its output rows */
  typed: Collection;
  say: (line: string) => void;
}

/** Every mode of the kind, in turn, on one connection; each mode's pass pushed onto `runs` as it ends. */
export async function rawRows(o: RawRowsOptions, runs: RawRowsRun[] = []): Promise<RawRowsRun[]> {
  const session =
    o.database === 'mariadb'
      ? await rowsRawMariadb(o.databaseUrl, o.typed)
      : await rowsRawPostgres(o.databaseUrl, o.typed);
  try {
    const { kind, payloads } = o;
    const batches: RowsBatch[] = [];
    for (let i = 0; i < o.rows; i += o.batchSize) {
      const ids = Array.from(
        { length: Math.min(o.batchSize, o.rows - i) },
        (_, k) => `raw-${String(i + k).padStart(7, '0')}`,
      );
      batches.push({ ids, docs: ids.map((id, k) => withId(id, payloads[(i + k) % payloads.length] as string)) });
    }
    const target = await session.target(kind, batches);
    if (target === undefined) return runs;
    const rows = target.rowsPerPass ?? o.rows;
    for (const mode of RAW_ROWS_MODES) {
      const write = target.writers[mode];
      if (write === undefined) continue;
      await target.truncate();
      const latencies: number[] = [];
      const start = process.hrtime.bigint();
      for (const batch of batches) {
        const t = process.hrtime.bigint();
        await write(batch);
        latencies.push(msSince(t));
      }
      const ms = msSince(start);
      const held = await target.count();
      const run: RawRowsRun = {
        kind,
        mode,
        pass: o.pass,
        batchSize: o.batchSize,
        rows: o.rows,
        held,
        rowsPerSec: round((rows / ms) * 1000),
        entriesPerSec: round((o.rows / ms) * 1000),
        batchMs: { p50: round(percentile(latencies, 0.5), 1), p99: round(percentile(latencies, 0.99), 1) },
      };
      runs.push(run);
      o.say(
        `raw ${o.database} ${kind} ${mode} (pass ${o.pass}): ${run.entriesPerSec} entries/s, ` +
          `${run.rowsPerSec} rows/s (${held} of ${rows} rows held)`,
      );
      if (held !== rows) throw new Error(`raw ${kind} ${mode}: the tables hold ${held} rows, ${rows} written`);
    }
    await target.truncate();
  } finally {
    await session.close();
  }

  return runs;
}

/** A mode's passes for a kind, in order. */
export const rawPasses = (runs: RawRowsRun[], kind: RawRowsKind, mode: RawRowsMode): RawRowsRun[] =>
  runs.filter((r) => r.kind === kind && r.mode === mode);

/** The mean of a figure over a mode's passes for a kind; null when it was not measured. */
function meanOfPasses(
  runs: RawRowsRun[],
  kind: RawRowsKind,
  mode: RawRowsMode,
  figure: (run: RawRowsRun) => number | null,
): number | null {
  const values = rawPasses(runs, kind, mode)
    .map(figure)
    .filter((x): x is number => x !== null);

  return values.length === 0 ? null : round(values.reduce((a, b) => a + b, 0) / values.length);
}

/** A mode's rows a second for a kind (the mean of its passes); null when it was not measured. */
export const rawRate = (runs: RawRowsRun[], kind: RawRowsKind, mode: RawRowsMode): number | null =>
  meanOfPasses(runs, kind, mode, (r) => r.rowsPerSec);

/** A mode's entries a second for a kind (the mean of its passes); null when it was not measured. */
export const rawEntryRate = (runs: RawRowsRun[], kind: RawRowsKind, mode: RawRowsMode): number | null =>
  meanOfPasses(runs, kind, mode, (r) => r.entriesPerSec ?? r.rowsPerSec);
