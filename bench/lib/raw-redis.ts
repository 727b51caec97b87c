// Phase 1, Redis: the atomic write Spillway does (document hash + version + stream entry, in the writeDocuments Lua
// script), one document a call, singly with many calls in flight and in pipelines of 500; and, as `_bulk` sends
// them, 500 documents a call. The pipelines are the ceiling ingest's `_bulk` is measured against.
import { Redis } from 'ioredis';
import { defineSpillwayScripts } from '@app/redis';
import type { PhaseInputs } from './phase';
import { type BenchChange, callWrite, KEYS, pipelineWrites, type WriteCall, writeArgs } from './redis-writes';
import { msSince, percentile, round } from './stats';
import { idPicker, seededRandom } from './workload';

export interface RawRedisOptions extends PhaseInputs {
  redisUrl: string;
  durationMs: number;
  concurrency: number;
  batchSize: number;
  batchesInFlight: number;
}

interface Latency {
  p50: number | null;
  p99: number | null;
}

export interface RawRedisResult {
  single: { concurrency: number; ops: number; opsPerSec: number | null; latencyMs: Latency };
  batch: { batchSize: number; inFlight: number; ops: number; opsPerSec: number | null; batchLatencyMs: Latency };
  manyPerCall: {
    documentsPerCall: number;
    inFlight: number;
    ops: number;
    opsPerSec: number | null;
    callLatencyMs: Latency;
    serverUsecPerDocument: number | null;
  };
  serverUsecPerCall: number | null;
}

export async function rawRedis(o: RawRedisOptions): Promise<RawRedisResult> {
  const redis = defineSpillwayScripts(new Redis(o.redisUrl, { protocol: 2, maxRetriesPerRequest: null }));
  try {
    const pick = idPicker(seededRandom(o.seed), o.ids);
    let n = 0;
    const nextChange = (): BenchChange => ({ op: 'put', id: pick(), json: o.docs[n++ % o.docs.length] as string });
    const oneDocumentCall = (): WriteCall => writeArgs([nextChange()], Date.now());
    await callWrite(redis, oneDocumentCall()); // loads the script

    /**
     * `workers` loops, each sending one unit of `opsPerUnit` documents and awaiting it before the next, for durationMs.
     * Also what Redis itself spent a script call (commandstats): the rest of a call's cost is the client's and the
     * network's. `digits`: of the latency percentiles.
     */
    const measure = async (
      workers: number,
      opsPerUnit: number,
      sendUnit: () => Promise<unknown>,
      digits: number,
    ): Promise<{ ops: number; opsPerSec: number | null; latencyMs: Latency; serverUsecPerCall: number | null }> => {
      await redis.config('RESETSTAT');
      const latencies: number[] = [];
      let ops = 0;
      const start = process.hrtime.bigint();
      const deadline = Date.now() + o.durationMs;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          while (Date.now() < deadline) {
            const t = process.hrtime.bigint();
            await sendUnit();
            latencies.push(msSince(t));
            ops += opsPerUnit;
          }
        }),
      );
      const opsPerSec = round((ops / msSince(start)) * 1000);
      const stats = await redis.info('commandstats');
      await redis.del(KEYS.stream);

      return {
        ops,
        opsPerSec,
        latencyMs: { p50: round(percentile(latencies, 0.5), digits), p99: round(percentile(latencies, 0.99), digits) },
        serverUsecPerCall: round(Number(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(stats)?.[1] ?? NaN), 1),
      };
    };

    // Singly: `concurrency` callers, each awaiting its reply before the next call.
    const s = await measure(o.concurrency, 1, () => callWrite(redis, oneDocumentCall()), 2);
    const single = { concurrency: o.concurrency, ops: s.ops, opsPerSec: s.opsPerSec, latencyMs: s.latencyMs };
    o.say(`redis lua singly (${o.concurrency} in flight): ${single.opsPerSec} ops/s`);

    // Pipelines of batchSize one-document calls, batchesInFlight at a time.
    const b = await measure(
      o.batchesInFlight,
      o.batchSize,
      () => pipelineWrites(redis, Array.from({ length: o.batchSize }, oneDocumentCall)),
      1,
    );
    const batch = {
      batchSize: o.batchSize,
      inFlight: o.batchesInFlight,
      ops: b.ops,
      opsPerSec: b.opsPerSec,
      batchLatencyMs: b.latencyMs,
    };
    o.say(
      `redis lua pipelines of ${o.batchSize} (${o.batchesInFlight} in flight): ${batch.opsPerSec} ops/s; ` +
        `redis spends ${b.serverUsecPerCall} µs a call`,
    );

    // batchSize documents in each call, batchesInFlight calls at a time.
    const m = await measure(
      o.batchesInFlight,
      o.batchSize,
      () => callWrite(redis, writeArgs(Array.from({ length: o.batchSize }, nextChange), Date.now())),
      1,
    );
    const manyPerCall = {
      documentsPerCall: o.batchSize,
      inFlight: o.batchesInFlight,
      ops: m.ops,
      opsPerSec: m.opsPerSec,
      callLatencyMs: m.latencyMs,
      serverUsecPerDocument: round((m.serverUsecPerCall ?? NaN) / o.batchSize, 2),
    };
    o.say(
      `redis lua, ${o.batchSize} documents a call (${o.batchesInFlight} in flight): ${manyPerCall.opsPerSec} ops/s; ` +
        `redis spends ${manyPerCall.serverUsecPerDocument} µs a document`,
    );

    return { single, batch, manyPerCall, serverUsecPerCall: b.serverUsecPerCall };
  } finally {
    redis.disconnect();
  }
}
