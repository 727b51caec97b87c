// The drain matrix on the cluster: a backlog of the same shape as phase 3's (puts, patches, deletes; about ten entries
// an id) in collections of 1, 4 and 8 partitions, drained by 1, 2 and 4 sinks that lease the partitions among
// themselves. For each sink count the sinks are started once, wait until the leases are shared out, drain an untimed
// warm-up backlog (its rate is the cold start), then drain each collection's backlog in turn (the order reversed every
// other sink count, so that a drifting machine favours no partition count); a drain is timed from the end of the
// backlog's copy onto the streams until every entry is acked. Tables are truncated before each timed drain.
import { setTimeout as sleep } from 'node:timers/promises';
import { allPartitions, type PartitionedCollection } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import type { AppProcess, Stack } from '../../tools/local-stack';
import type { BenchDatabase } from './bench-database';
import {
  buildPartitionedTemplate,
  deleteStreams,
  dropPartitionedTemplate,
  fillFromTemplate,
  type PartitionedTemplate,
  restoreDocuments,
  unackedEntries,
} from './cluster-backlog';
import { type PartsBreakdown, partsSince, type PartsSnapshot, usPer } from './cluster-cpu';
import { spreadOver, targetCommandStats, type WriteServer } from './cluster-targets';
import type { PhaseInputs } from './phase';
import { byLabel, diffHistograms, histogram, parseMetrics, quantile, scrape, sum } from './prom';
import { type CommandCost, commandsSince } from './redis-commands';
import { msSince, round } from './stats';

const WARM_UP = 'warm-up';
const WRITTEN = ['inserted', 'updated', 'deleted'];

export interface DrainMatrixOptions extends PhaseInputs {
  stack: Stack<RedisClient>;
  database: BenchDatabase;
  /** the cluster client, scripts defined */
  redis: RedisClient;
  /** the cluster's masters */
  servers: WriteServer[];
  probe: () => PartsSnapshot;
  /** one a partition count; each its own table of the same name */
  collections: PartitionedCollection[];
  /** the other collections the sinks lease (their streams stay empty) */
  idleCollections: PartitionedCollection[];
  sinkCounts: number[];
  entries: number;
  warmUpEntries: number;
  timeoutMs: number;
}

export interface ClusterDrainRun {
  partitions: number;
  sinks: number;
  /** the collection's partitions on each master, in the order of the servers */
  partitionsPerMaster: number[];
  entries: number;
  acked: number;
  timedOut: boolean;
  drainMs: number;
  entriesPerSec: number | null;
  rowsWritten: number;
  rowsPerSec: number | null;
  rowsPerEntry: number | null;
  outcomes: Record<string, number>;
  batchWriteMs: { p50: number | null; p99: number | null };
  /** µs of CPU: the sinks' and the Redis servers' a drained entry, the database's a row written */
  us: {
    sinksPerEntry: number | null;
    redisMastersPerEntry: number | null;
    redisReplicasPerEntry: number | null;
    databasePerRow: number | null;
    databasePerEntry: number | null;
  };
  /** the masters' own time by command (INFO commandstats), an entry */
  redisCommands: CommandCost[];
  cpu: PartsBreakdown;
}

/** The sinks started for a sink count: how long the leases took to be shared out, and the warm-up's drain. */
export interface SinkStart {
  sinks: number;
  /** from every sink ready until the leases were shared out; null when they were not within the time allowed */
  leasesSharedMs: number | null;
  warmUp: { entries: number; drainMs: number; entriesPerSec: number | null };
}

export interface DrainMatrixResult {
  templates: PartitionedTemplate[];
  starts: SinkStart[];
  runs: ClusterDrainRun[];
}

/** How many sinks read one partition at once (the sink's lease-assignment.ts): enough that every sink reads one. */
const readersPerPartition = (partitions: number, sinks: number): number => Math.max(1, Math.ceil(sinks / partitions));

/**
 * Waits until the sinks' `spillway_sink_partitions_owned` shows every collection's reader places taken and each sink
 * holding at least its share; resolves with the milliseconds it took, or null after `timeoutMs`.
 */
async function waitForLeases(
  sinks: AppProcess[],
  collections: PartitionedCollection[],
  timeoutMs: number,
): Promise<number | null> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const perSink = await Promise.all(sinks.map((s) => s.metrics().then(parseMetrics, () => [])));
    const shared = collections.every(({ name, partitions }) => {
      const places = partitions * readersPerPartition(partitions, sinks.length);
      const owned = perSink.map((samples) => sum(samples, 'spillway_sink_partitions_owned', { collection: name }));

      return owned.reduce((a, b) => a + b, 0) === places && Math.min(...owned) >= Math.floor(places / sinks.length);
    });
    if (shared) return Date.now() - start;
    await sleep(200);
  }

  return null;
}

/** Polls until the collection's entries are all acked, or `timeoutMs` passed. */
async function waitUntilDrained(
  redis: RedisClient,
  collection: PartitionedCollection,
  entries: number,
  timeoutMs: number,
): Promise<{ drainMs: number; acked: number; timedOut: boolean }> {
  const start = process.hrtime.bigint();
  for (;;) {
    const left = await unackedEntries(redis, collection);
    const ms = msSince(start);
    if (left === 0 || ms > timeoutMs) return { drainMs: ms, acked: entries - left, timedOut: left > 0 };
    await sleep(100);
  }
}

interface TimedDrain {
  o: DrainMatrixOptions;
  sinks: AppProcess[];
  template: PartitionedTemplate;
}

async function timedDrain({ o, sinks, template }: TimedDrain): Promise<ClusterDrainRun> {
  const { collection } = template;
  const table = collection.name;
  await deleteStreams(o.redis, collection);
  await restoreDocuments(o.redis, collection, [template.name]);
  await o.database.truncate([table]);
  await o.database.resetStats();
  await sleep(1000);
  const before = await scrape(sinks);
  await fillFromTemplate(o.redis, template);
  const cpuBefore = o.probe();
  const draining = waitUntilDrained(o.redis, collection, template.entries, o.timeoutMs);
  const commandsBefore = await targetCommandStats({ servers: o.servers });
  const { drainMs, acked, timedOut } = await draining;
  const cpu = partsSince(cpuBefore, o.probe());
  const redisCommands = commandsSince(commandsBefore, await targetCommandStats({ servers: o.servers }), acked);
  const after = await scrape(sinks);
  const outcomes = byLabel(after, 'spillway_sink_entries_total', 'outcome');
  const outcomesBefore = byLabel(before, 'spillway_sink_entries_total', 'outcome');
  for (const key of Object.keys(outcomes)) outcomes[key] = (outcomes[key] ?? 0) - (outcomesBefore[key] ?? 0);
  const settled = Object.values(outcomes).reduce((a, b) => a + b, 0);
  const rowsWritten = WRITTEN.reduce((n, k) => n + (outcomes[k] ?? 0), 0);
  const writeS = diffHistograms(
    histogram(after, 'spillway_sink_write_duration_seconds'),
    histogram(before, 'spillway_sink_write_duration_seconds'),
  );
  const run: ClusterDrainRun = {
    partitions: collection.partitions,
    sinks: sinks.length,
    partitionsPerMaster: spreadOver(
      o.servers,
      allPartitions(collection).map((keys) => keys.stream),
    ),
    entries: template.entries,
    acked,
    timedOut,
    drainMs: Math.round(drainMs),
    entriesPerSec: round((acked / drainMs) * 1000),
    rowsWritten,
    rowsPerSec: round((rowsWritten / drainMs) * 1000),
    rowsPerEntry: settled > 0 ? round(rowsWritten / settled, 3) : null,
    outcomes,
    batchWriteMs: {
      p50: round((quantile(writeS, 0.5) ?? NaN) * 1000, 1),
      p99: round((quantile(writeS, 0.99) ?? NaN) * 1000, 1),
    },
    us: {
      sinksPerEntry: usPer(cpu.parts.sinks, acked),
      redisMastersPerEntry: usPer(cpu.parts.redisMasters, acked),
      redisReplicasPerEntry: usPer(cpu.parts.redisReplicas, acked),
      databasePerRow: usPer(cpu.parts.database, rowsWritten),
      databasePerEntry: usPer(cpu.parts.database, acked),
    },
    redisCommands,
    cpu,
  };
  o.say(
    `drain, ${run.partitions} partition(s) (${run.partitionsPerMaster.join('/')} on the masters), ${run.sinks} ` +
      `sink(s): ${run.entriesPerSec} entries/s, ${run.rowsPerSec} rows/s, ${run.rowsPerEntry} rows/entry; µs: sinks ` +
      `${run.us.sinksPerEntry}/entry, redis masters ${run.us.redisMastersPerEntry}/entry, database ` +
      `${run.us.databasePerRow}/row; machine ${cpu.machineBusyPct}% busy, other ${cpu.otherS} s in ${cpu.wallS} s` +
      `${timedOut ? ` (stopped after ${Math.round(drainMs / 1000)} s, ${acked} acked)` : ''}`,
  );

  return run;
}

/** The drain matrix: every sink count over every collection. */
export async function drainMatrix(o: DrainMatrixOptions): Promise<DrainMatrixResult> {
  const drainIds = o.ids.slice(0, Math.max(100, Math.round(o.entries / 10)));
  const templates: PartitionedTemplate[] = [];
  for (const [i, collection] of o.collections.entries()) {
    const template = await buildPartitionedTemplate(o.redis, {
      name: 'uniform',
      collection,
      entries: o.entries,
      ids: drainIds,
      docs: o.docs,
      seed: o.seed + i,
    });
    o.say(
      `backlog of ${collection.name}: ${template.entries} entries over ${drainIds.length} ids in ${template.fillMs} ms ` +
        `(${template.fillRatePerSec}/s)`,
    );
    templates.push(template);
  }
  const widest = o.collections.reduce((a, b) => (b.partitions > a.partitions ? b : a));
  const warmUpIds = drainIds.slice(0, Math.ceil(drainIds.length / 2)).map((id) => `${WARM_UP}-${id}`);
  const warmUp = await buildPartitionedTemplate(o.redis, {
    name: WARM_UP,
    collection: widest,
    entries: o.warmUpEntries,
    ids: warmUpIds,
    docs: o.docs,
    seed: o.seed + 13,
    idPrefix: `${WARM_UP}-`,
  });
  const starts: SinkStart[] = [];
  const runs: ClusterDrainRun[] = [];
  try {
    for (const [k, count] of o.sinkCounts.entries()) {
      const sinks: AppProcess[] = [];
      for (let i = 0; i < count; i++) sinks.push(await o.stack.addSink());
      await Promise.all(sinks.map((s) => s.waitUntilReady()));
      const leasesSharedMs = await waitForLeases(sinks, [...o.collections, ...o.idleCollections], 60_000);
      if (leasesSharedMs === null) {
        o.say(`${count} sink(s): the leases were not shared out within 60 s; draining anyway`);
      }
      await restoreDocuments(o.redis, widest, [WARM_UP]);
      await fillFromTemplate(o.redis, warmUp);
      const w = await waitUntilDrained(o.redis, widest, warmUp.entries, o.timeoutMs);
      const start: SinkStart = {
        sinks: count,
        leasesSharedMs,
        warmUp: {
          entries: w.acked,
          drainMs: Math.round(w.drainMs),
          entriesPerSec: round((w.acked / w.drainMs) * 1000),
        },
      };
      starts.push(start);
      o.say(
        `${count} sink(s) started; leases shared out after ${leasesSharedMs} ms; warm-up ${start.warmUp.entries} ` +
          `entries at ${start.warmUp.entriesPerSec}/s`,
      );
      const order = k % 2 === 0 ? templates : [...templates].reverse();
      try {
        for (const template of order) runs.push(await timedDrain({ o, sinks, template }));
      } finally {
        for (const s of sinks) await o.stack.removeSink(s);
      }
    }
  } finally {
    for (const template of [...templates, warmUp]) await dropPartitionedTemplate(o.redis, template);
  }

  return {
    templates: [...templates, warmUp],
    starts,
    runs: runs.sort((a, b) => a.partitions - b.partitions || a.sinks - b.sinks),
  };
}
