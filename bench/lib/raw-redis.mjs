// Phase 1, Redis: the atomic write Spillway does (document hash + version + stream entry, one Lua call), singly with
// many calls in flight and in pipelines of 500. These rates are the ceiling ingest is measured against.
import { Redis } from 'ioredis';
import { callWrite, defineWriteDocument, KEYS, pipelineWrites, writeArgs } from './redis-writes.mjs';
import { idPicker, seededRandom } from './workload.mjs';
import { msSince, percentile, round } from './stats.mjs';

/**
 * @param {{ redisUrl: string, lua: string, ids: string[], docs: string[], seed: number,
 *           durationMs: number, concurrency: number, batchSize: number, batchesInFlight: number, say: (s: string) => void }} o
 */
export async function rawRedis(o) {
  const redis = new Redis(o.redisUrl, { protocol: 2, maxRetriesPerRequest: null });
  defineWriteDocument(redis, o.lua);
  try {
    const pick = idPicker(seededRandom(o.seed), o.ids);
    let n = 0;
    const nextArgs = () => writeArgs('put', pick(), o.docs[n++ % o.docs.length], Date.now());
    await callWrite(redis, nextArgs()); // loads the script
    await redis.config('RESETSTAT');

    // Singly: `concurrency` callers, each awaiting its reply before the next call.
    const latencies = [];
    let singles = 0;
    let start = process.hrtime.bigint();
    const deadline = Date.now() + o.durationMs;
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (Date.now() < deadline) {
          const t = process.hrtime.bigint();
          await callWrite(redis, nextArgs());
          latencies.push(msSince(t));
          singles += 1;
        }
      }),
    );
    const singleMs = msSince(start);
    const single = {
      concurrency: o.concurrency,
      ops: singles,
      opsPerSec: round((singles / singleMs) * 1000),
      latencyMs: { p50: round(percentile(latencies, 0.5), 2), p99: round(percentile(latencies, 0.99), 2) },
    };
    o.say(`redis lua singly (${o.concurrency} in flight): ${single.opsPerSec} ops/s`);
    await redis.del(KEYS.stream);

    // Pipelines of batchSize, batchesInFlight at a time.
    const batchLatencies = [];
    let batched = 0;
    start = process.hrtime.bigint();
    const batchDeadline = Date.now() + o.durationMs;
    await Promise.all(
      Array.from({ length: o.batchesInFlight }, async () => {
        while (Date.now() < batchDeadline) {
          const calls = Array.from({ length: o.batchSize }, nextArgs);
          const t = process.hrtime.bigint();
          await pipelineWrites(redis, calls);
          batchLatencies.push(msSince(t));
          batched += calls.length;
        }
      }),
    );
    const batchMs = msSince(start);
    const batch = {
      batchSize: o.batchSize,
      inFlight: o.batchesInFlight,
      ops: batched,
      opsPerSec: round((batched / batchMs) * 1000),
      batchLatencyMs: { p50: round(percentile(batchLatencies, 0.5), 1), p99: round(percentile(batchLatencies, 0.99), 1) },
    };
    o.say(`redis lua pipelines of ${o.batchSize} (${o.batchesInFlight} in flight): ${batch.opsPerSec} ops/s`);
    await redis.del(KEYS.stream);
    // Time Redis itself spent per script call: what is left of a call's cost is the client's and the network's.
    const stats = await redis.info('commandstats');
    const usecPerCall = Number(/cmdstat_evalsha:.*usec_per_call=([\d.]+)/.exec(stats)?.[1] ?? NaN);
    o.say(`redis spends ${usecPerCall} µs per writeDocument call`);
    return { single, batch, serverUsecPerCall: round(usecPerCall, 1) };
  } finally {
    redis.disconnect();
  }
}
