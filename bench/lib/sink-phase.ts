// Phase 3: sink drain of a pre-filled backlog (puts, patches, deletes over the ids) with 1, 2 and 4 replicas, and a
// hot-key variant. The backlog is written once per variant through the Lua script in big pipelines, kept in Redis as
// a template stream (with the consumer group already created at 0), and copied over the live stream for each run.
// The replicas are started, then warmed up on smaller backlogs over other ids, one backlog a replica so that every
// sink gets the same share whatever their number (V8 optimizes each process's hot paths during its first tens of
// thousands of entries, and the functions called once a batch only after hundreds of batches), so a run times the
// drain by sinks already at work, as when a burst reaches a running pipeline; the first warm-up backlog's own rate is
// reported as the cold start. Tables are truncated before the timed drain. The mapped drain (mapped-phase.ts) runs the
// same machinery on a collection with output tables.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { DEFAULT_SINK_GROUP, type PartitionKeys } from '@app/contracts';
import { forEachKeyWithPrefix } from '@app/redis';
import type { AppProcess, Stack } from '../../tools/local-stack';
import type { BenchDatabase, TableWrites } from './bench-database';
import { type CpuBreakdown, cpuSince, cpuSnapshot, processCpuSeconds } from './cpu';
import type { StackPhaseInputs } from './phase';
import { byLabel, diffHistograms, histogram, quantile, scrape } from './prom';
import { type CommandCost, commandsSince, commandStats } from './redis-commands';
import { type BacklogMix, COLLECTION, fillBacklog, KEYS } from './redis-writes';
import { msSince, round } from './stats';
import { idPicker, seededRandom, type Skew } from './workload';

/** The collection a drain reads and writes: its Redis keys, and its tables (the state table first). */
export interface DrainTarget {
  keys: PartitionKeys;
  tables: string[];
}

/** The plain collection, `sessions`: a state table and no outputs. */
export const PLAIN: DrainTarget = { keys: KEYS, tables: [COLLECTION] };

/** A template: a copy of the live stream's backlog, in the stream's hash slot. */
const TEMPLATE = (keys: PartitionKeys, name: string): string => `${keys.stream}:bench-template-${name}`;
const WRITTEN = ['inserted', 'updated', 'deleted'];
/** Template names are unique across collections: the copies of the document hashes are keyed by them alone. */
const DOCUMENTS_COPY = (name: string): string => `bench:template-${name}:`;
const WARM_UP = 'warm-up';

/**
 * Keeps a copy of the document hashes as a template's fill left them. The sink skips an entry whose document Redis
 * already holds at a newer version, so each run must start from the hashes that go with its backlog.
 */
async function snapshotDocuments(redis: Redis, target: DrainTarget, name: string, idPrefix = ''): Promise<void> {
  const documentPrefix = target.keys.document('');
  await forEachKeyWithPrefix(redis, documentPrefix + idPrefix, async (keys) => {
    const pipeline = redis.pipeline();
    for (const key of keys) {
      pipeline.call('COPY', key, DOCUMENTS_COPY(name) + key.slice(documentPrefix.length), 'REPLACE');
    }
    await pipeline.exec();
  });
}

/** Puts back the document hashes of templates (see snapshotDocuments), and only those, in the target collection. */
async function restoreDocuments(redis: Redis, target: DrainTarget, names: string[]): Promise<void> {
  const documentPrefix = target.keys.document('');
  await forEachKeyWithPrefix(redis, documentPrefix, async (keys) => void (await redis.unlink(...keys)));
  for (const name of names) {
    await forEachKeyWithPrefix(redis, DOCUMENTS_COPY(name), async (keys) => {
      const pipeline = redis.pipeline();
      for (const key of keys) {
        pipeline.call('COPY', key, documentPrefix + key.slice(DOCUMENTS_COPY(name).length), 'REPLACE');
      }
      await pipeline.exec();
    });
  }
}

interface TemplateSpec {
  name: string;
  entries: number;
  ids: string[];
  docs: string[];
  seed: number;
  skew?: Skew;
  idPrefix?: string;
  /** default PLAIN */
  target?: DrainTarget;
  /**
   * writes the backlog instead of the mix of puts, patches and deletes over `ids` (the row-bound bench's first writes,
   * bench/lib/rows-data.ts); the document hashes are then not snapshotted: such a backlog leaves them as it found them
   */
  fill?: (redis: Redis, keys: PartitionKeys) => Promise<BacklogMix>;
}

export interface Template {
  name: string;
  entries: number;
  mix: BacklogMix;
  fillMs: number;
  fillRatePerSec: number | null;
}

/** Fills the stream with a backlog and keeps it as a template key. */
export async function buildTemplate(redis: Redis, o: TemplateSpec): Promise<Template> {
  const target = o.target ?? PLAIN;
  const { keys } = target;
  await redis.del(keys.stream);
  const random = seededRandom(o.seed);
  const start = process.hrtime.bigint();
  const mix = o.fill
    ? await o.fill(redis, keys)
    : await fillBacklog(redis, {
        entries: o.entries,
        pick: idPicker(random, o.ids, o.skew),
        docs: o.docs,
        random,
        keys,
      });
  const ms = msSince(start);
  await redis.xgroup('CREATE', keys.stream, DEFAULT_SINK_GROUP, '0');
  await redis.rename(keys.stream, TEMPLATE(keys, o.name));
  if (!o.fill) await snapshotDocuments(redis, target, o.name, o.idPrefix);
  const length = await redis.xlen(TEMPLATE(keys, o.name));

  return { name: o.name, entries: length, mix, fillMs: Math.round(ms), fillRatePerSec: round((length / ms) * 1000) };
}

/** Group state of the live stream: entries not yet acked (undelivered + pending), or null before the group exists. */
async function unacked(redis: Redis, keys: PartitionKeys): Promise<number | null> {
  const groups = (await redis.xinfo('GROUPS', keys.stream).catch(() => [])) as unknown[][];
  const group = groups.find((g) => g[g.indexOf('name') + 1] === DEFAULT_SINK_GROUP);
  if (!group) return null;
  const field = (key: string): unknown => group[group.indexOf(key) + 1];
  let lag = field('lag');
  if (lag === null || lag === undefined) {
    // Redis cannot always tell the lag (after deletions); entries added minus entries read is the same figure here.
    const info = (await redis.xinfo('STREAM', keys.stream)) as unknown[];
    lag = Number(info[info.indexOf('entries-added') + 1]) - Number(field('entries-read'));
  }

  return Number(field('pending')) + Number(lag);
}

/**
 * Copies a template over the live stream: the backlog is in place once this returns. Redis does the copy in one
 * command, during which the sinks wait, so the drain is timed from its end.
 */
async function fillFromTemplate(redis: Redis, keys: PartitionKeys, template: string): Promise<void> {
  await redis.call('COPY', TEMPLATE(keys, template), keys.stream, 'REPLACE');
}

interface DrainProgress {
  ms: number;
  unacked: number;
}

/** Waits until every entry of the live stream is acked, or `timeoutMs` passed. */
async function waitUntilDrained(
  redis: Redis,
  keys: PartitionKeys,
  entries: number,
  timeoutMs: number,
): Promise<{ drainMs: number; acked: number; timedOut: boolean; samples: DrainProgress[] }> {
  const start = process.hrtime.bigint();
  let remaining = entries;
  let timedOut = false;
  const samples: DrainProgress[] = [];
  for (;;) {
    const left = await unacked(redis, keys);
    if (left !== null) remaining = left;
    const ms = msSince(start);
    samples.push({ ms: Math.round(ms), unacked: remaining });
    if (remaining === 0) break;
    if (ms > timeoutMs) {
      timedOut = true;
      break;
    }
    await sleep(100);
  }
  const drainMs = msSince(start);

  return { drainMs, acked: entries - remaining, timedOut, samples };
}

interface DrainRunOptions {
  stack: Stack;
  database: BenchDatabase;
  replicas: number;
  template: string;
  entries: number;
  warmUps: { name: string; entries: number }[];
  timeoutMs: number;
  say: (line: string) => void;
  /** default PLAIN */
  target?: DrainTarget;
  /** leave the document hashes as they are (templates built with a `fill` of first writes); default false */
  keepDocuments?: boolean;
}

/**
 * What a drain did to one table: the server's row counts since the truncation (PostgreSQL's pg_stat_user_tables,
 * MariaDB's TABLE_STATISTICS, which counts rows written but not which way: null there), and the rows it holds.
 */
export interface TableRows {
  table: string;
  inserted: number | null;
  updated: number | null;
  deleted: number | null;
  /** inserted + updated + deleted */
  written: number;
  writtenPerSec: number | null;
  /** count(*) after the drain */
  rows: number;
}

/** One timed drain. */
export interface DrainRun {
  template: string;
  replicas: number;
  entries: number;
  acked: number;
  timedOut: boolean;
  drainMs: number;
  /** the first warm-up backlog's drain */
  coldStart: { entries: number; drainMs: number; entriesPerSec: number | null } | undefined;
  entriesPerSec: number | null;
  rowsWritten: number;
  rowsPerSec: number | null;
  rowsPerEntry: number | null;
  outcomes: Record<string, number>;
  batches: number;
  meanBatchSize: number | null;
  batchWriteMs: { p50: number | null; p99: number | null; mean: number | null };
  cpu: CpuBreakdown;
  redisCommands: CommandCost[];
  tableStats: Record<string, number> | null;
  /** every table of the collection, the state table first */
  tables: TableRows[];
  /** rows written a second into all of them together */
  allTablesRowsPerSec: number | null;
  rssSinks: (number | null)[];
  /**
   * CPU seconds during the timed drain in hundredths (`cpu` has tenths): each sink's, in the order they were started,
   * Redis's and the database's, for the costs a million rows of short drains
   */
  cpuFine: { sinksEachS: number[]; redisS: number; databaseS: number };
  progress: DrainProgress[];
}

/**
 * One drain: `replicas` sinks started, ready and warmed up on as many warm-up templates, one after the other, then
 * the template copied in; timed from the end of the copy until every entry is acked (or `timeoutMs`, reporting the
 * part done).
 */
export async function drainRun(o: DrainRunOptions): Promise<DrainRun> {
  const redis = o.stack.redisClient;
  const target = o.target ?? PLAIN;
  const { keys } = target;
  await redis.del(keys.stream);
  const warmUps = o.warmUps.slice(0, o.replicas);
  if (!o.keepDocuments) await restoreDocuments(redis, target, [o.template, ...warmUps.map((w) => w.name)]);
  const sinks: AppProcess[] = [];
  for (let i = 0; i < o.replicas; i++) sinks.push(await o.stack.addSink());
  await Promise.all(sinks.map((s) => s.waitUntilReady()));
  let coldStart: DrainRun['coldStart'];
  for (const template of warmUps) {
    await fillFromTemplate(redis, keys, template.name);
    const warmUp = await waitUntilDrained(redis, keys, template.entries, o.timeoutMs);
    coldStart ??= {
      entries: warmUp.acked,
      drainMs: Math.round(warmUp.drainMs),
      entriesPerSec: round((warmUp.acked / warmUp.drainMs) * 1000),
    };
  }
  await redis.del(keys.stream);
  await o.database.truncate(target.tables);
  await o.database.resetStats();
  await sleep(1000);
  const before = await scrape(sinks);

  await fillFromTemplate(redis, keys, o.template);
  const cpuBefore = cpuSnapshot(o.stack, sinks);
  const sinkCpuBefore = sinks.map((s) => processCpuSeconds(s.pid));
  const draining = waitUntilDrained(redis, keys, o.entries, o.timeoutMs);
  const commandsBefore = await commandStats(redis);
  const { drainMs, acked, timedOut, samples } = await draining;
  const cpuAfter = cpuSnapshot(o.stack, sinks);
  const cpu = cpuSince(cpuBefore, cpuAfter);
  const hundredths = (x: number): number => Number(x.toFixed(2));
  const cpuFine = {
    sinksEachS: sinks.map((s, i) => hundredths(processCpuSeconds(s.pid) - (sinkCpuBefore[i] ?? 0))),
    redisS: hundredths(cpuAfter.redis - cpuBefore.redis),
    databaseS: hundredths(cpuAfter.database - cpuBefore.database),
  };
  const redisCommands = commandsSince(commandsBefore, await commandStats(redis), acked);
  const after = await scrape(sinks);
  // the warm-up left out
  const drained = (base: string) => diffHistograms(histogram(after, base), histogram(before, base));
  const writeS = drained('spillway_sink_write_duration_seconds');
  const batches = drained('spillway_sink_batch_size');
  const outcomes = byLabel(after, 'spillway_sink_entries_total', 'outcome');
  const outcomesBefore = byLabel(before, 'spillway_sink_entries_total', 'outcome');
  for (const key of Object.keys(outcomes)) outcomes[key] = (outcomes[key] ?? 0) - (outcomesBefore[key] ?? 0);
  const settled = Object.values(outcomes).reduce((a, b) => a + b, 0);
  const rowsWritten = WRITTEN.reduce((n, k) => n + (outcomes[k] ?? 0), 0);
  const writes = await o.database.writes(target.tables);
  const tables = await tableRows(o.database, writes, drainMs);
  const rss = sinks.map((s) => s.rssBytes() ?? null);
  for (const s of sinks) await o.stack.removeSink(s);
  const stateStats = writes.get(target.tables[0] ?? '');
  const allWritten = tables.reduce((n, t) => n + t.written, 0);
  const run: DrainRun = {
    template: o.template,
    replicas: o.replicas,
    entries: o.entries,
    acked,
    timedOut,
    drainMs: Math.round(drainMs),
    coldStart,
    entriesPerSec: round((acked / drainMs) * 1000),
    rowsWritten,
    rowsPerSec: round((rowsWritten / drainMs) * 1000),
    rowsPerEntry: settled > 0 ? round(rowsWritten / settled, 3) : null,
    outcomes,
    batches: batches.count,
    meanBatchSize: batches.count ? round(batches.sum / batches.count, 1) : null,
    batchWriteMs: {
      p50: round((quantile(writeS, 0.5) ?? NaN) * 1000, 1),
      p99: round((quantile(writeS, 0.99) ?? NaN) * 1000, 1),
      mean: writeS.count ? round((writeS.sum / writeS.count) * 1000, 1) : null,
    },
    cpu,
    redisCommands,
    tableStats: stateStats?.raw ?? null,
    tables,
    allTablesRowsPerSec: round((allWritten / drainMs) * 1000),
    rssSinks: rss,
    cpuFine,
    progress: thin(samples, 60),
  };
  o.say(
    `sink drain ${o.template}, ${o.replicas} replica(s): ${run.entriesPerSec} entries/s, ${run.rowsPerSec} rows/s, ` +
      `${run.rowsPerEntry} rows/entry; cpu s: sinks ${cpu.sinksS}, ${o.database.kind} ${cpu.databaseS}, ` +
      `redis ${cpu.redisS}, ` +
      `others ${cpu.otherS}, host steal ${cpu.stealS} in ${cpu.wallS} s (machine ${cpu.machineBusyPct}% busy)` +
      `${timedOut ? ` (stopped after ${Math.round(drainMs / 1000)} s, ${acked} acked)` : ''}; ` +
      `cold start: ${coldStart?.entriesPerSec} entries/s over the first ${coldStart?.entries} warm-up entries`,
  );

  return run;
}

/** Each table's rows written during the drain (the server's statistics, reset before it) and rows held after it. */
async function tableRows(
  database: BenchDatabase,
  writes: Map<string, TableWrites>,
  drainMs: number,
): Promise<TableRows[]> {
  const out: TableRows[] = [];
  for (const [table, { inserted, updated, deleted, written }] of writes) {
    out.push({
      table,
      inserted,
      updated,
      deleted,
      written,
      writtenPerSec: round((written / drainMs) * 1000),
      rows: await database.countRows(table),
    });
  }

  return out;
}

/** At most `n` samples, evenly spaced, the last one kept. */
function thin<T>(list: T[], n: number): T[] {
  if (list.length <= n) return list;
  const step = list.length / n;
  const out = Array.from({ length: n - 1 }, (_, i) => list[Math.floor(i * step)] as T);
  out.push(list[list.length - 1] as T);

  return out;
}

/** A drain and the round of it. */
export type SinkRun = DrainRun & { round: number };

/** A drain's replica count, and its round when the uniform drains ran more than once. */
export const replicasAndRound = (run: Pick<SinkRun, 'template' | 'replicas' | 'round'>, rounds: number): string =>
  `${run.replicas} replica(s)${rounds > 1 && run.template !== 'hot' ? `, round ${run.round}` : ''}`;

/** What the report calls a drain: template, replica count and round. */
export const drainName = (run: Pick<SinkRun, 'template' | 'replicas' | 'round'>, rounds: number): string =>
  `${run.template}, ${replicasAndRound(run, rounds)}`;

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

/** The drains of one template and replica count taken together. */
export interface DrainMean {
  template: string;
  replicas: number;
  entries: number;
  timedOut: boolean;
  entriesPerSec: number | null;
  rowsPerSec: number | null;
  rowsWritten: number | null;
  rowsPerEntry: number | null;
  /** rows written a second into every table of the collection (outputs included) */
  allTablesRowsPerSec: number | null;
  roundsEntriesPerSec: (number | null)[];
}

/** The drains of each template and replica count taken together: their mean rates, and each round's entries/s. */
export function meanOfRounds(runs: SinkRun[]): DrainMean[] {
  const groups = new Map<string, [SinkRun, ...SinkRun[]]>();
  for (const run of runs) {
    const key = `${run.template} ${run.replicas}`;
    const group = groups.get(key);
    if (group) group.push(run);
    else groups.set(key, [run]);
  }

  return [...groups.values()].map((group) => ({
    template: group[0].template,
    replicas: group[0].replicas,
    entries: group[0].entries,
    timedOut: group.some((x) => x.timedOut),
    entriesPerSec: round(mean(group.map((x) => x.entriesPerSec ?? 0))),
    rowsPerSec: round(mean(group.map((x) => x.rowsPerSec ?? 0))),
    rowsWritten: round(mean(group.map((x) => x.rowsWritten))),
    rowsPerEntry: round(mean(group.map((x) => x.rowsPerEntry ?? NaN)), 3),
    allTablesRowsPerSec: round(mean(group.map((x) => x.allTablesRowsPerSec ?? 0))),
    roundsEntriesPerSec: group.map((x) => x.entriesPerSec),
  }));
}

interface WarmUpOptions {
  entries: number;
  ids: string[];
  docs: string[];
  seed: number;
  say: (line: string) => void;
  /** one backlog a replica: as many as the most replicas of a drain */
  count: number;
  /** default PLAIN */
  target?: DrainTarget;
  /** before each backlog's name; '' for the plain collection's */
  namePrefix?: string;
}

/**
 * The warm-up backlogs, one a replica, each a fifth of the entries over a tenth as many ids of its own, so that the
 * warm-up leaves the documents and the sinks' known versions of the timed backlog's ids alone.
 */
export async function buildWarmUps(redis: Redis, o: WarmUpOptions): Promise<Template[]> {
  const warmUps: Template[] = [];
  const warmUpIds = o.ids.slice(0, Math.ceil(o.ids.length / 10));
  for (let k = 1; k <= o.count; k++) {
    const name = `${o.namePrefix ?? ''}${WARM_UP}-${k}`;
    const ids = warmUpIds.map((id) => `${name}-${id}`);
    warmUps.push(
      await buildTemplate(redis, {
        name,
        entries: Math.ceil(o.entries / 5),
        ids,
        docs: o.docs,
        seed: o.seed + 13 + k,
        idPrefix: `${name}-`,
        target: o.target,
      }),
    );
  }
  o.say(
    `warm-up backlogs: ${warmUps.length} of ${warmUps[0]?.entries} entries, each over ${warmUpIds.length} other ids`,
  );

  return warmUps;
}

/** Removes templates' streams (the live stream's with them). */
export async function dropTemplates(redis: Redis, keys: PartitionKeys, templates: Template[]): Promise<void> {
  await redis.del(...templates.map((t) => TEMPLATE(keys, t.name)), keys.stream);
}

export interface SinkPhaseOptions extends StackPhaseInputs {
  entries: number;
  hotEntries: number;
  replicaCounts: number[];
  rounds: number;
  hotReplicas: number;
  timeoutMs: number;
}

export interface SinkResult {
  templates: Template[];
  runs: SinkRun[];
  drains: DrainMean[];
  rssIngest: number | null;
}

/**
 * The uniform drain `rounds` times for each replica count, every other round in reverse order (1, 2, 4, 4, 2, 1) so
 * that a machine whose speed drifts during the phase favours no replica count, then the hot-key drain once.
 */
export async function sinkPhase(o: SinkPhaseOptions): Promise<SinkResult> {
  const redis = o.stack.redisClient;
  const uniform = await buildTemplate(redis, {
    name: 'uniform',
    entries: o.entries,
    ids: o.ids,
    docs: o.docs,
    seed: o.seed,
  });
  o.say(`backlog 'uniform': ${uniform.entries} entries written in ${uniform.fillMs} ms (${uniform.fillRatePerSec}/s)`);
  const hot = await buildTemplate(redis, {
    name: 'hot',
    entries: o.hotEntries,
    ids: o.ids,
    docs: o.docs,
    seed: o.seed + 7,
    skew: { hotFraction: 0.01, hotShare: 0.5 },
  });
  o.say(`backlog 'hot': ${hot.entries} entries written in ${hot.fillMs} ms`);
  const templates = [uniform, hot];
  const warmUps = await buildWarmUps(redis, { ...o, count: Math.max(...o.replicaCounts, o.hotReplicas) });
  templates.push(...warmUps);
  const runs: SinkRun[] = [];
  const drain = (replicas: number, template: Template): Promise<DrainRun> =>
    drainRun({
      stack: o.stack,
      database: o.database,
      replicas,
      template: template.name,
      entries: template.entries,
      warmUps,
      timeoutMs: o.timeoutMs,
      say: o.say,
    });
  try {
    for (let r = 1; r <= o.rounds; r++) {
      const order = r % 2 === 1 ? o.replicaCounts : [...o.replicaCounts].reverse();
      for (const replicas of order) runs.push({ round: r, ...(await drain(replicas, uniform)) });
    }
    runs.push({ round: 1, ...(await drain(o.hotReplicas, hot)) });
  } finally {
    await dropTemplates(redis, KEYS, templates);
  }

  return { templates, runs, drains: meanOfRounds(runs), rssIngest: o.stack.ingest?.rssBytes() ?? null };
}
