// The row-bound bench's raw ceilings (npm run bench -- --rows): the same first writes the drains land, written from
// one plain client in batches of SINK_BATCH_SIZE (500), each batch its own commit, into empty copies of the sink's
// tables. The ways a kind (events, plain documents): multi-row statements (as text, and on PostgreSQL also prepared), a
// bulk load into a staging table then one INSERT … SELECT a batch, and the bulk load straight into the table (the
// absolute ceiling). The SQL of each database
// is in rows-raw-pg.ts and rows-raw-mariadb.ts.
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
export type RawRowsKind = 'events' | 'documents';

/** One batch: ids and their whole JSON texts (with "id"); documents at version 1. */
export interface RowsBatch {
  ids: string[];
  docs: string[];
}

/** Writes one batch in its own transaction. */
export type RowsBatchWriter = (batch: RowsBatch) => Promise<void>;

/** One kind's writers on an open connection: each mode's, and emptying the table before a pass. */
export interface RawRowsTarget {
  truncate(): Promise<void>;
  count(): Promise<number>;
  /** a mode the database lacks is left out */
  writers: Partial<Record<RawRowsMode, RowsBatchWriter>>;
}

/** What a database offers the passes: a target per kind, and closing it. */
export interface RawRowsSession {
  target(kind: RawRowsKind): Promise<RawRowsTarget>;
  close(): Promise<void>;
}

/** One pass: every row once, one client. */
export interface RawRowsRun {
  kind: RawRowsKind;
  mode: RawRowsMode;
  batchSize: number;
  rows: number;
  /** rows the table held after the pass (all of them, or the pass failed) */
  held: number;
  rowsPerSec: number | null;
  batchMs: { p50: number | null; p99: number | null };
}

export interface RawRowsOptions {
  database: DatabaseKind;
  databaseUrl: string;
  rows: number;
  batchSize: number;
  /** payloads without "id", by kind */
  payloads: Record<RawRowsKind, string[]>;
  say: (line: string) => void;
}

/** Every mode of every kind, in turn, on one connection; each pass pushed onto `runs` as it ends. */
export async function rawRows(o: RawRowsOptions, runs: RawRowsRun[] = []): Promise<RawRowsRun[]> {
  const session = o.database === 'mariadb' ? await rowsRawMariadb(o.databaseUrl) : await rowsRawPostgres(o.databaseUrl);
  try {
    for (const kind of ['events', 'documents'] as const) {
      const target = await session.target(kind);
      const payloads = o.payloads[kind];
      const batches: RowsBatch[] = [];
      for (let i = 0; i < o.rows; i += o.batchSize) {
        const ids = Array.from(
          { length: Math.min(o.batchSize, o.rows - i) },
          (_, k) => `raw-${String(i + k).padStart(7, '0')}`,
        );
        batches.push({ ids, docs: ids.map((id, k) => withId(id, payloads[(i + k) % payloads.length] as string)) });
      }
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
          batchSize: o.batchSize,
          rows: o.rows,
          held,
          rowsPerSec: round((o.rows / ms) * 1000),
          batchMs: { p50: round(percentile(latencies, 0.5), 1), p99: round(percentile(latencies, 0.99), 1) },
        };
        runs.push(run);
        o.say(`raw ${o.database} ${kind} ${mode}: ${run.rowsPerSec} rows/s (${held} of ${o.rows} rows held)`);
        if (held !== o.rows) throw new Error(`raw ${kind} ${mode}: the table holds ${held} rows, ${o.rows} written`);
      }
      await target.truncate();
    }
  } finally {
    await session.close();
  }

  return runs;
}

/** A mode's rows a second for a kind; null when it was not measured. */
export const rawRate = (runs: RawRowsRun[], kind: RawRowsKind, mode: RawRowsMode): number | null =>
  runs.find((r) => r.kind === kind && r.mode === mode)?.rowsPerSec ?? null;
