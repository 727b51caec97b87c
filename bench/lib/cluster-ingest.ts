// Ingest (the built app) on one server and on the cluster: PUT with 100 connections and _bulk with 500 puts a request
// (autocannon, as phase 2), into a collection of 8 partitions whose every id already has a hash (no write waits on
// PostgreSQL), no sink running. With the CPU each part spent a write accepted: ingest's, the Redis servers' that took
// the writes, the cluster's replicas', and the bench's (autocannon).
import type autocannon from 'autocannon';
import type { PartitionedCollection } from '@app/contracts';
import { deleteStreams, seedPartitioned } from './cluster-backlog';
import { type PartsBreakdown, partsSince, type PartsSnapshot, usPer } from './cluster-cpu';
import { type RedisTarget, targetCommandStats } from './cluster-targets';
import { bulkRequests, type LoadResult, putRequests, runLoad } from './load';
import type { PhaseInputs } from './phase';
import { scrape, sum } from './prom';
import { type CommandCost, commandsSince } from './redis-commands';

export interface ClusterIngestOptions extends PhaseInputs {
  target: RedisTarget;
  collection: PartitionedCollection;
  probe: () => PartsSnapshot;
  durationS: number;
  warmupS: number;
  putConnections: number;
  bulkConnections: number;
  bulkOps: number;
}

export interface ClusterIngestRun extends LoadResult {
  target: string;
  load: 'PUT' | '_bulk';
  opsPerRequest: number;
  /** writes ingest counted as accepted (spillway_ingest_writes_total) */
  acceptedWrites: number;
  writesPerSec: number | null;
  us: { ingest: number | null; redis: number | null; replicas: number | null; bench: number | null };
  /** Redis's own time by command on the servers that took the writes (INFO commandstats), a write */
  redisCommands: CommandCost[];
  cpu: PartsBreakdown;
}

/** PUT, then _bulk, against the target's ingest; the collection's streams are emptied between and after the runs. */
export async function clusterIngest(o: ClusterIngestOptions): Promise<ClusterIngestRun[]> {
  const { target } = o;
  const accepted = async (): Promise<number> => sum(await scrape([target.ingest]), 'spillway_ingest_writes_total');
  o.say(`seeding ${o.ids.length} documents of ${o.collection.name} on ${target.label}`);
  await seedPartitioned(target.client, o.collection, o.ids, o.docs);
  await deleteStreams(target.client, o.collection);
  const common = { ids: o.ids, docs: o.docs, collection: o.collection.name };

  const measure = async (
    load: ClusterIngestRun['load'],
    options: autocannon.Options,
    opsPerRequest: number,
  ): Promise<ClusterIngestRun> => {
    if (o.warmupS > 0) await runLoad({ ...options, duration: o.warmupS });
    await deleteStreams(target.client, o.collection);
    const writesBefore = await accepted();
    const commandsBefore = await targetCommandStats(target);
    const before = o.probe();
    const result = await runLoad(options, opsPerRequest);
    const cpu = partsSince(before, o.probe());
    const acceptedWrites = (await accepted()) - writesBefore;
    const redisCommands = commandsSince(commandsBefore, await targetCommandStats(target), acceptedWrites);
    await deleteStreams(target.client, o.collection);
    const run: ClusterIngestRun = {
      ...result,
      target: target.label,
      load,
      opsPerRequest,
      acceptedWrites,
      writesPerSec: result.durationS ? Math.round(acceptedWrites / result.durationS) : null,
      us: {
        ingest: usPer(cpu.parts.ingest, acceptedWrites),
        redis: usPer(cpu.parts[target.cpuPart], acceptedWrites),
        replicas: usPer(cpu.parts.redisReplicas, acceptedWrites),
        bench: usPer(cpu.parts.bench, acceptedWrites),
      },
      redisCommands,
      cpu,
    };
    o.say(
      `ingest ${load} on ${target.label}: ${run.requestsPerSec} req/s, ${run.writesPerSec} writes/s, p99 ` +
        `${run.latencyMs.p99} ms; µs a write: ingest ${run.us.ingest}, redis ${run.us.redis}, replicas ` +
        `${run.us.replicas}, autocannon ${run.us.bench}; machine ${cpu.machineBusyPct}% busy, other ${cpu.otherS} s`,
    );

    return run;
  };

  const put = await measure(
    'PUT',
    putRequests(target.ingest.url, { ...common, seed: o.seed, connections: o.putConnections, durationS: o.durationS }),
    1,
  );
  const bulk = await measure(
    '_bulk',
    bulkRequests(target.ingest.url, {
      ...common,
      seed: o.seed + 1,
      connections: o.bulkConnections,
      durationS: o.durationS,
      opsPerRequest: o.bulkOps,
    }),
    o.bulkOps,
  );

  return [put, bulk];
}
