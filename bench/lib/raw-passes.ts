// The passes of phase 1's database ceilings (raw-pg.ts, raw-mariadb.ts): for each way of writing and each connection
// count, an insert pass (empty table) and an update pass (every row one version newer), each writing every id once
// in batches from a plain client.
import type { PhaseInputs } from './phase';
import { msSince, percentile, round } from './stats';
import { seededRandom, withId } from './workload';

/** One batch of distinct ids, sorted by key, all at one version. */
export interface Batch {
  ids: string[];
  docs: string[];
  version: number;
}

/** Writes a batch on a client; resolves with the rows written. */
export type WriteBatch<Client> = (client: Client, batch: Batch) => Promise<number>;

/** One pass. */
export interface RawRun<Mode extends string> {
  mode: Mode;
  pass: 'insert' | 'update';
  connections: number;
  batchSize: number;
  rows: number;
  rowsPerSec: number | null;
  batchMs: { p50: number | null; p99: number | null };
}

export interface RawPassesOptions<Client, Mode extends string> extends PhaseInputs {
  rows: number;
  batchSize: number;
  connections: number[];
  /** as many as the most connections */
  clients: Client[];
  modes: [Mode, WriteBatch<Client>][];
  /** empties the table before each mode and connection count */
  truncate: () => Promise<void>;
  /** the database's name in the progress lines */
  label: string;
}

/** 0 … n-1 in a random order (Fisher-Yates). */
function shuffled(n: number, random: () => number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }

  return a;
}

/** Every pass of every mode and connection count, in that order. */
export async function rawPasses<Client, Mode extends string>(
  o: RawPassesOptions<Client, Mode>,
): Promise<RawRun<Mode>[]> {
  const ids = o.ids.slice(0, o.rows);
  const random = seededRandom(o.seed);
  const docFor = ids.map((id) => withId(id, o.docs[Math.floor(random() * o.docs.length)] as string));
  const results: RawRun<Mode>[] = [];
  let version = 0;
  for (const [mode, write] of o.modes) {
    for (const connections of o.connections) {
      await o.truncate();
      for (const pass of ['insert', 'update'] as const) {
        version += 1;
        // Every id once per pass, in batches of distinct ids sorted by key (concurrent writers lock rows in one
        // order, so they cannot deadlock).
        const order = shuffled(ids.length, random);
        const batches: Batch[] = [];
        for (let i = 0; i < order.length; i += o.batchSize) {
          const idx = order.slice(i, i + o.batchSize).sort((a, b) => a - b);
          batches.push({ ids: idx.map((k) => ids[k] as string), docs: idx.map((k) => docFor[k] as string), version });
        }
        const latencies: number[] = [];
        let rows = 0;
        let next = 0;
        const start = process.hrtime.bigint();
        await Promise.all(
          o.clients.slice(0, connections).map(async (client) => {
            while (next < batches.length) {
              const batch = batches[next++] as Batch;
              const t = process.hrtime.bigint();
              rows += await write(client, batch);
              latencies.push(msSince(t));
            }
          }),
        );
        const ms = msSince(start);
        const row: RawRun<Mode> = {
          mode,
          pass,
          connections,
          batchSize: o.batchSize,
          rows,
          rowsPerSec: round((rows / ms) * 1000),
          batchMs: { p50: round(percentile(latencies, 0.5), 1), p99: round(percentile(latencies, 0.99), 1) },
        };
        results.push(row);
        o.say(`${o.label} ${mode} ${pass} pass, ${connections} connection(s): ${row.rowsPerSec} rows/s`);
      }
    }
  }

  return results;
}

/** The best update pass of a mode, in rows a second: the ceiling the sink is held to. */
export const bestUpdatePass = <Mode extends string>(runs: RawRun<Mode>[], mode: Mode): number =>
  Math.max(...runs.filter((r) => r.mode === mode && r.pass === 'update').map((r) => r.rowsPerSec ?? 0));
