// The raw Redis write rate of one server and of the cluster's masters: the real writeDocuments Lua with its argument
// layout from @app/redis, sent by the bench itself on a direct connection to each server (every server at once, each
// into a partition whose slot it serves), in pipelines of 500 one-document calls and in calls of 500 documents (as
// `_bulk` sends them). With the CPU the servers spent a write: the ceiling of what ingest can get out of them.
import type { Redis } from 'ioredis';
import { partitionKeys, type PartitionKeys } from '@app/contracts';
import { forEachKeyWithPrefix } from '@app/redis';
import { type PartsBreakdown, partsSince, type PartsSnapshot, usPer } from './cluster-cpu';
import { connectToServer, type RedisTarget, servesKey } from './cluster-targets';
import type { PhaseInputs } from './phase';
import { type BenchChange, callWrite, pipelineWrites, writeArgs } from './redis-writes';
import { msSince, round } from './stats';
import { idPicker, seededRandom } from './workload';

/** The raw writes' own collection: its partitions are picked one a server, whichever slots they fall in. */
const RAW_COLLECTION = 'bench_raw';

export type RawWriteMode = 'pipelines' | 'manyPerCall';

export interface RawWriteOptions extends PhaseInputs {
  target: RedisTarget;
  probe: () => PartsSnapshot;
  durationMs: number;
  /** one-document calls a pipeline, and documents a call */
  batchSize: number;
  /** pipelines or calls in flight a server */
  inFlight: number;
}

export interface RawWriteRun {
  target: string;
  mode: RawWriteMode;
  servers: number;
  writes: number;
  writesPerSec: number | null;
  perServerWritesPerSec: (number | null)[];
  /** CPU of the servers that took the writes (the one server, or the masters), a write */
  redisUsPerWrite: number | null;
  /** CPU of the cluster's replicas a write (0 on one server) */
  replicasUsPerWrite: number | null;
  /** the bench's own CPU a write: building and sending the calls */
  benchUsPerWrite: number | null;
  cpu: PartsBreakdown;
}

interface Lane {
  client: Redis;
  keys: PartitionKeys;
}

/** The first partition of the raw collection whose slot the server serves. */
function partitionOn(target: RedisTarget, index: number): PartitionKeys {
  const server = target.servers[index];
  if (!server) throw new Error(`no server ${index} in ${target.label}`);
  for (let p = 0; p < 10_000; p++) {
    const keys = partitionKeys(RAW_COLLECTION, p);
    if (servesKey(server, keys.stream)) return keys;
  }
  throw new Error(`no partition of ${RAW_COLLECTION} falls on server ${server.port}`);
}

/** Both modes on every server of the target at once; the servers' streams and hashes are removed afterwards. */
export async function rawWrites(o: RawWriteOptions): Promise<RawWriteRun[]> {
  const lanes: Lane[] = o.target.servers.map((server, i) => ({
    client: connectToServer(server),
    keys: partitionOn(o.target, i),
  }));
  const pick = idPicker(seededRandom(o.seed), o.ids);
  let n = 0;
  const nextChange = (): BenchChange => ({ op: 'put', id: pick(), json: o.docs[n++ % o.docs.length] as string });
  const units: Record<RawWriteMode, (lane: Lane) => Promise<unknown>> = {
    pipelines: (lane) =>
      pipelineWrites(
        lane.client,
        Array.from({ length: o.batchSize }, () => writeArgs([nextChange()], Date.now(), lane.keys)),
      ),
    manyPerCall: (lane) =>
      callWrite(lane.client, writeArgs(Array.from({ length: o.batchSize }, nextChange), Date.now(), lane.keys)),
  };
  const runs: RawWriteRun[] = [];
  try {
    for (const lane of lanes) await callWrite(lane.client, writeArgs([nextChange()], Date.now(), lane.keys));
    for (const mode of ['pipelines', 'manyPerCall'] as const) {
      const counts = lanes.map(() => 0);
      const before = o.probe();
      const start = process.hrtime.bigint();
      const deadline = Date.now() + o.durationMs;
      await Promise.all(
        lanes.flatMap((lane, i) =>
          Array.from({ length: o.inFlight }, async () => {
            while (Date.now() < deadline) {
              await units[mode](lane);
              counts[i] = (counts[i] ?? 0) + o.batchSize;
            }
          }),
        ),
      );
      const seconds = msSince(start) / 1000;
      const cpu = partsSince(before, o.probe());
      const writes = counts.reduce((a, b) => a + b, 0);
      const run: RawWriteRun = {
        target: o.target.label,
        mode,
        servers: lanes.length,
        writes,
        writesPerSec: round(writes / seconds),
        perServerWritesPerSec: counts.map((c) => round(c / seconds)),
        redisUsPerWrite: usPer(cpu.parts[o.target.cpuPart], writes),
        replicasUsPerWrite: usPer(cpu.parts.redisReplicas, writes),
        benchUsPerWrite: usPer(cpu.parts.bench, writes),
        cpu,
      };
      runs.push(run);
      o.say(
        `raw redis ${o.target.label}, ${mode === 'pipelines' ? `pipelines of ${o.batchSize}` : `${o.batchSize} documents a call`}: ` +
          `${run.writesPerSec} writes/s (${run.perServerWritesPerSec.join(' + ')}); redis ${run.redisUsPerWrite} µs a write` +
          `${lanes.length > 1 ? `, replicas ${run.replicasUsPerWrite}` : ''}; bench ${run.benchUsPerWrite}; machine ${cpu.machineBusyPct}% busy`,
      );
      await Promise.all(lanes.map((lane) => lane.client.del(lane.keys.stream)));
    }
  } finally {
    for (const lane of lanes) {
      await forEachKeyWithPrefix(lane.client, lane.keys.document(''), async (keys) => {
        await lane.client.unlink(...keys);
      }).catch(() => undefined);
      await lane.client.del(lane.keys.stream).catch(() => 0);
      lane.client.disconnect();
    }
  }

  return runs;
}
