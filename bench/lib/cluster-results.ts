// What `npm run bench -- --cluster` measures and writes to bench/results/<date>-cluster.json, its settings, and the
// unit costs the model (cluster-model.ts) takes from it.
import type { UnexpectedExit } from '../../tools/local-stack';
import type { PartsBreakdown } from './cluster-cpu';
import type { DrainMatrixResult } from './cluster-drain';
import type { ClusterIngestRun } from './cluster-ingest';
import type { UnitCosts } from './cluster-model';
import type { RawWriteRun } from './cluster-raw';
import type { BenchOptions } from './options';
import type { RawPostgresResult } from './raw-pg';

/** The sizes and durations of a cluster run. */
export interface ClusterSettings {
  masters: number;
  replicasPerMaster: number;
  /** the partitions of the collection ingest writes */
  ingestPartitions: number;
  rawDurationMs: number;
  /** one-document calls a pipeline, and documents a call */
  rawBatchSize: number;
  /** pipelines or calls in flight a server */
  rawInFlight: number;
  databaseRows: number;
  ingestDurationS: number;
  warmupS: number;
  putConnections: number;
  bulkConnections: number;
  bulkOps: number;
  partitionCounts: number[];
  sinkCounts: number[];
  /** entries of each drain's backlog */
  entries: number;
  warmUpEntries: number;
  drainTimeoutMs: number;
  /** how long the idle baseline is taken */
  idleMs: number;
  /** SINK_LEASE_TTL_MS of the bench's sinks: a lease round every third of it, so new sinks get their share soon */
  leaseTtlMs: number;
}

export function clusterSettings(options: BenchOptions): ClusterSettings {
  const { quick } = options;

  return {
    masters: 3,
    replicasPerMaster: 1,
    ingestPartitions: 8,
    rawDurationMs: quick ? 2000 : 5000,
    rawBatchSize: 500,
    rawInFlight: 4,
    databaseRows: quick ? 10_000 : 50_000,
    ingestDurationS: quick ? 5 : 12,
    warmupS: quick ? 1 : 2,
    putConnections: 100,
    bulkConnections: 8,
    bulkOps: 500,
    partitionCounts: options.partitionCounts,
    sinkCounts: options.replicaCounts,
    entries: options.entries,
    warmUpEntries: Math.ceil(options.entries / 2),
    drainTimeoutMs: quick ? 60_000 : 150_000,
    idleMs: quick ? 2000 : 5000,
    leaseTtlMs: 3000,
  };
}

export interface ClusterBenchResults {
  kind: 'cluster';
  /** local date YYYY-MM-DD, the files' name */
  date: string;
  startedAt: string;
  options: BenchOptions;
  settings: ClusterSettings;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; redis: string; postgres: string };
  /** load averages (1, 5, 15 minutes) and `uptime`'s line at the start and the end */
  load: { start: number[]; end: number[]; uptimeStart: string; uptimeEnd: string };
  /** the cluster's masters (port, slot ranges) as the run found them */
  masters: { port: number; slots: Array<[number, number]> }[];
  raw?: { redis: RawWriteRun[]; postgres: RawPostgresResult; postgresCpu: PartsBreakdown };
  ingest?: ClusterIngestRun[];
  drain?: DrainMatrixResult;
  /** the unit costs the model takes, from this run */
  costs?: UnitCosts;
  /** the model's tables, from `costs` */
  model?: string;
  /** CPU of every part while nothing but the servers and the idle apps ran, before the first measurement */
  idle?: PartsBreakdown;
  /** CPU of the whole run (every part), and of the machine */
  cpu?: PartsBreakdown;
  unexpectedExits?: UnexpectedExit[];
  elapsedS?: number;
}

const pooled = (cpuSeconds: number[], units: number[]): number => {
  const total = units.reduce((a, b) => a + b, 0);

  return total > 0 ? Number(((cpuSeconds.reduce((a, b) => a + b, 0) * 1e6) / total).toFixed(1)) : NaN;
};

/**
 * The model's unit costs from a run: ingest's and the masters' a write from the cluster's ingest runs; the sinks',
 * the masters' and the database's from the drains of the most partitions (every sink count pooled: CPU seconds over
 * entries or rows); the database's a batched row from the raw upsert passes. Undefined when the run lacks any.
 */
export function unitCosts(r: Pick<ClusterBenchResults, 'ingest' | 'drain' | 'raw'>): UnitCosts | undefined {
  const onCluster = (r.ingest ?? []).filter((run) => run.target !== '1 server');
  const put = onCluster.find((run) => run.load === 'PUT');
  const bulk = onCluster.find((run) => run.load === '_bulk');
  const runs = r.drain?.runs ?? [];
  const widest = Math.max(...runs.map((run) => run.partitions));
  const drains = runs.filter((run) => run.partitions === widest);
  if (!put || !bulk || drains.length === 0 || !r.raw) return undefined;
  const acked = drains.map((d) => d.acked);

  return {
    redisUsPerPut: put.us.redis ?? NaN,
    redisUsPerBulkWrite: bulk.us.redis ?? NaN,
    ingestUsPerPut: put.us.ingest ?? NaN,
    ingestUsPerBulkWrite: bulk.us.ingest ?? NaN,
    sinkUsPerEntry: pooled(
      drains.map((d) => d.cpu.parts.sinks),
      acked,
    ),
    redisUsPerDrainedEntry: pooled(
      drains.map((d) => d.cpu.parts.redisMasters),
      acked,
    ),
    databaseUsPerRow: pooled(
      drains.map((d) => d.cpu.parts.database),
      drains.map((d) => d.rowsWritten),
    ),
    databaseUsPerBatchedRow: pooled(
      [r.raw.postgresCpu.parts.database],
      r.raw.postgres.runs.map((run) => run.rows),
    ),
    rowsPerEntry: Number((drains.reduce((n, d) => n + d.rowsWritten, 0) / acked.reduce((a, b) => a + b, 0)).toFixed(3)),
  };
}
