// The bench's command line: its flags, and the settings of every phase they lead to.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_KINDS, type DatabaseKind, ROOT } from '../../tools/local-stack';

export const USAGE = `Usage: npm run bench -- [flags]

Starts its own Redis (AOF, fsync every second) and PostgreSQL (or MariaDB, --db mariadb), both durable, ingest
and sink processes (the built apps) on loopback, in a temporary folder, and measures:
  1 raw      Redis writeDocuments Lua singly, in pipelines of 500 and 500 documents a call; PostgreSQL multi-row
             upserts and COPY+upsert (MariaDB: the dialect's multi-row INSERT … ON DUPLICATE KEY UPDATE), with 1 and
             2 connections
  2 ingest   PUT (100 connections), _bulk (500 ops a request), and a bare Fastify PUT on the same Lua
  3 sink     drain of a pre-filled backlog with 1, 2 and 4 replicas (twice, in the order 1, 2, 4, 4, 2, 1), and a
             hot-key variant
  4 e2e      steady PUT load at half the measured maximum, lag from the sinks' lag histograms
  5 memory   RSS of ingest and sinks at the end of each phase (always recorded)
  6 mapped   the uniform drain with 2 replicas on a collection with the shipped sessions outputs (session_facts,
             session_screens; about 5 screens a document), against phase 3's 2-replica drain; runs right after 3
Writes bench/results/<date>.json, .md and .svg (<date>-quick.* with --quick, <date>-partial.* with --only or
--entries, --replicas or --rounds; -mariadb before those on MariaDB) and prints the markdown table.

--cluster runs the Redis Cluster bench instead (bench/lib/cluster-run.ts; about 5 minutes, --quick about 2): a local
cluster of 3 masters and 3 replicas beside one redis-server, PostgreSQL, and in one run: the raw Redis write rate of
the one server and of the 3 masters, PostgreSQL's raw upsert rate, ingest PUT and _bulk on each (a collection of 8
partitions), and the drain on the cluster with --replicas sinks over --partitions partitions; the CPU each part spent
a write, an entry and a row, and a model of the rates on more cores. Writes <date>-cluster.json and .md
(<date>-cluster-quick.* / -cluster-partial.*). --only, --rounds and --db do not apply.

  --db KIND        postgres (default) or mariadb: the database the sinks write to and phase 1 measures
  --quick          small smoke run (50k entries, short phases; about 2 minutes)
  --only LIST      phases to run, e.g. 1,3 or raw,sink (default all)
  --entries N      backlog entries for the sink drain (default 1000000; --quick 50000; with --cluster 300000 a
                   drain, --quick 20000)
  --replicas LIST  sink replica counts of the uniform drain (default 1,2,4)
  --rounds N       drains of each replica count, every other round in reverse order; the figures are their mean
                   (default 2; --quick 1); the mapped drain runs once unless this is given
  --cluster        the Redis Cluster bench (see above)
  --durability     the durability levels bench instead (bench/lib/durability-run.ts, about 2 minutes, --quick 1):
                   PUT and _bulk at memory, replicated, aof and persisted against a Redis master with one replica,
                   and the lag of persisted writes under load; writes <date>-durability.md
  --rows           the row-bound bench instead (issue 18; bench/lib/rows-run.ts; about 10 minutes, --quick about 2):
                   every entry a row (events with unique ids, first writes of documents, a typed collection with a
                   child table); the raw ceilings of the same rows (multi-row statements, COPY or LOAD DATA into a
                   staging table then INSERT … SELECT, COPY or LOAD DATA alone), drains of a pre-filled backlog with
                   --replicas sinks, and end to end in _bulk of 500 with as many; with --db mariadb on MariaDB. Writes
                   <date>-rows[-mariadb].json and .md (-quick / -partial); --only takes raw, events, documents, typed,
                   e2e (the kinds named narrow e2e too); --entries defaults to 300000 (--quick 30000)
  --partitions LIST  with --cluster: partition counts of the drain matrix (default 1,4,8)
  --seed N         payload and id seed (default 1)
  --out DIR        results folder (default bench/results)
  -h, --help       this text
`;

const PHASES: Record<string, number> = { raw: 1, ingest: 2, sink: 3, e2e: 4, memory: 5, mapped: 6 };
/** The parts of a --rows run, in the order it runs them. */
export const ROWS_PARTS = ['raw', 'events', 'documents', 'typed', 'e2e'] as const;
export type RowsPart = (typeof ROWS_PARTS)[number];
const ALL_PHASES = '1,2,3,4,5,6';
/** The backlog entries of a drain by default, without and with --quick. */
const DEFAULT_ENTRIES = { phases: [1_000_000, 50_000], cluster: [300_000, 20_000], rows: [300_000, 30_000] } as const;

/** Everything a run does, as written into the results' `options`. */
export interface BenchOptions {
  /** the database the sinks write to */
  database: DatabaseKind;
  /** the Redis Cluster bench (bench/lib/cluster-run.ts) instead of phases 1-6 */
  cluster: boolean;
  /** with `cluster`: the partition counts of the drain matrix */
  partitionCounts: number[];
  /** the durability levels bench (bench/lib/durability-run.ts) instead of phases 1-6 */
  durability: boolean;
  /** the row-bound bench (bench/lib/rows-run.ts) instead of phases 1-6 */
  rows: boolean;
  /** with `rows`: its parts to run */
  rowsParts: RowsPart[];
  /** with `rows`: rows of each raw ceiling pass */
  rowsRawRows: number;
  /** with `rows`: entries of each warm-up backlog (one a sink) before a drain */
  rowsWarmUpEntries: number;
  /** with `rows`: items of each end-to-end run (and of its warm-up) */
  rowsE2eItems: number;
  rowsE2eWarmUpItems: number;
  rowsE2eClients: number;
  quick: boolean;
  /** phase numbers, 1 to 6 */
  only: number[];
  entries: number;
  seed: number;
  out: string;
  /** a run with other than the default phases or sizes: its files are <date>-partial.* */
  partial: boolean;
  ids: number;
  docPool: number;
  redisDurationMs: number;
  redisConcurrency: number;
  batchSize: number;
  redisBatchesInFlight: number;
  dbRows: number;
  dbConnections: number[];
  ingestDurationS: number;
  warmupS: number;
  putConnections: number;
  bulkConnections: number;
  bulkOps: number;
  replicaCounts: number[];
  sinkRounds: number;
  hotReplicas: number;
  /** the mapped drain's backlog, replica count and rounds */
  mappedEntries: number;
  mappedReplicas: number;
  mappedRounds: number;
  drainTimeoutMs: number;
  e2eDurationS: number;
  e2eConnections: number;
  e2eReplicas: number;
}

const int = (value: string, name: string, min: number, max: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);

  return n;
};

/** The parts --only names for a --rows run, in the order the run takes them (default all). */
function parseRowsParts(only: string | undefined): RowsPart[] {
  const named = (only ?? ROWS_PARTS.join(',')).split(',').map((p) => {
    const part = ROWS_PARTS.find((x) => x === p.trim());
    if (part === undefined) throw new Error(`--only with --rows: unknown part "${p}" (${ROWS_PARTS.join(', ')})`);

    return part;
  });

  return ROWS_PARTS.filter((p) => named.includes(p));
}

/** The options of a run, or undefined for --help; throws on a bad flag. */
export function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      db: { type: 'string', default: 'postgres' },
      quick: { type: 'boolean', default: false },
      cluster: { type: 'boolean', default: false },
      durability: { type: 'boolean', default: false },
      rows: { type: 'boolean', default: false },
      partitions: { type: 'string', default: '1,4,8' },
      only: { type: 'string' },
      entries: { type: 'string' },
      replicas: { type: 'string', default: '1,2,4' },
      rounds: { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: join(ROOT, 'bench', 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const database = DATABASE_KINDS.find((kind) => kind === values.db);
  if (database === undefined) throw new Error(`--db must be ${DATABASE_KINDS.join(' or ')}, got "${values.db}"`);
  const { rows } = values;
  const rowsParts = rows ? parseRowsParts(values.only) : [...ROWS_PARTS];
  if (rows && (values.cluster || values.durability || values.rounds !== undefined)) {
    throw new Error('--cluster, --durability and --rounds do not apply with --rows');
  }
  const only = new Set(
    (rows ? ALL_PHASES : (values.only ?? ALL_PHASES)).split(',').map((p) => {
      const phase = PHASES[p.trim()] ?? Number(p.trim());
      if (!Number.isInteger(phase) || phase < 1 || phase > 6) throw new Error(`--only: unknown phase "${p}"`);

      return phase;
    }),
  );
  const { quick, cluster } = values;
  if (cluster && (values.only !== undefined || values.rounds !== undefined || database !== 'postgres')) {
    throw new Error('--only, --rounds and --db mariadb do not apply with --cluster');
  }
  const [fullEntries, quickEntries] = DEFAULT_ENTRIES[rows ? 'rows' : cluster ? 'cluster' : 'phases'];
  const defaultEntries = quick ? quickEntries : fullEntries;
  const entries = values.entries === undefined ? defaultEntries : int(values.entries, 'entries', 1000, 20_000_000);
  const rounds = values.rounds === undefined ? undefined : int(values.rounds, 'rounds', 1, 10);

  return {
    database,
    cluster,
    durability: values.durability,
    rows,
    rowsParts,
    rowsRawRows: quick ? 20_000 : 100_000,
    rowsWarmUpEntries: Math.ceil(entries / 10),
    rowsE2eItems: quick ? 30_000 : 300_000,
    rowsE2eWarmUpItems: quick ? 5_000 : 30_000,
    rowsE2eClients: 4,
    partitionCounts: values.partitions.split(',').map((p) => int(p.trim(), 'partitions', 1, 64)),
    quick,
    only: [...only].sort(),
    entries,
    seed: int(values.seed, 'seed', 0, 2 ** 31),
    out: values.out,
    partial:
      values.only !== undefined ||
      values.entries !== undefined ||
      values.replicas !== '1,2,4' ||
      values.rounds !== undefined ||
      values.partitions !== '1,4,8',
    ids: 100_000,
    docPool: 2000,
    redisDurationMs: quick ? 3000 : 8000,
    redisConcurrency: 64,
    batchSize: 500,
    redisBatchesInFlight: 4,
    dbRows: quick ? 20_000 : 100_000,
    dbConnections: [1, 2],
    ingestDurationS: quick ? 5 : 15,
    warmupS: quick ? 1 : 3,
    putConnections: 100,
    bulkConnections: 8,
    bulkOps: 500,
    replicaCounts: values.replicas.split(',').map((r) => int(r.trim(), 'replicas', 1, 16)),
    sinkRounds: rounds ?? (quick ? 1 : 2),
    hotReplicas: 2,
    mappedEntries: entries,
    mappedReplicas: 2,
    mappedRounds: rounds ?? 1,
    drainTimeoutMs: quick ? 60_000 : 150_000,
    e2eDurationS: quick ? 10 : 60,
    e2eConnections: 32,
    e2eReplicas: 2,
  };
}
