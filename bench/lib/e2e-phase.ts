// Phase 4: steady PUT load at half the measured maximum for a while, with 2 sinks draining; lag from ingest accepting
// a write to its commit, from the sinks' spillway_sink_lag_seconds histograms: over the whole run, and per second.
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import type { AppProcess } from '../../tools/local-stack';
import type { StackPhaseInputs } from './phase';
import { putRequests } from './load';
import { diffHistograms, lagHistogram, maxBound, quantile, scrape, sum } from './prom';
import { COLLECTION, KEYS, seedDocuments } from './redis-writes';
import { round } from './stats';

const ms = (seconds: number | null): number | null => (seconds === null ? null : round(seconds * 1000, 1));

export interface E2ePhaseOptions extends StackPhaseInputs {
  rate: number;
  durationS: number;
  connections: number;
  replicas: number;
}

/** One second of the run. */
export interface E2eSecond {
  /** seconds since the load started */
  t: number;
  accepted: number;
  committed: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  lagMaxMs: number | null;
  backlog: number | null;
  rssIngestMb: number;
  rssSinksMb: number[];
}

export interface E2eResult {
  offeredRate: number;
  connections: number;
  durationS: number | null;
  achievedRate: number | null;
  non2xx: number;
  errors: number;
  requestLatencyMs: { p50: number; p99: number };
  committed: number;
  lagMs: { p50: number | null; p99: number | null; max: number | null; mean: number | null };
  drainAfterLoadMs: number;
  series: E2eSecond[];
  rss: { ingest: number | null; sinks: (number | null)[] };
  /** the maximum rate the offered one is half of (set by the caller) */
  maxRateUsed?: number | null;
}

export async function e2ePhase(o: E2ePhaseOptions): Promise<E2eResult> {
  const redis = o.stack.redisClient;
  const ingest = o.stack.ingestApp;
  await redis.del(KEYS.stream);
  await o.database.truncate([COLLECTION]);
  await seedDocuments(redis, o.ids, o.docs); // every id has a hash: no write waits on a database version floor
  await redis.del(KEYS.stream);
  const sinks: AppProcess[] = [];
  for (let i = 0; i < o.replicas; i++) sinks.push(await o.stack.addSink());
  await Promise.all(sinks.map((s) => s.waitUntilReady()));
  await sleep(500);

  try {
    const first = await scrape(sinks);
    const start = lagHistogram(first);
    let previous = start;
    let previousWrites = sum(await scrape([ingest]), 'spillway_ingest_writes_total');
    const series: E2eSecond[] = [];
    const t0 = Date.now();
    let running = true;
    const sampler = (async () => {
      let next = t0 + 1000;
      while (running) {
        await sleep(Math.max(0, next - Date.now()));
        next += 1000;
        const [samples, ingestSamples, group] = await Promise.all([
          scrape(sinks),
          scrape([ingest]),
          groupBacklog(redis),
        ]);
        const now = lagHistogram(samples);
        const second = diffHistograms(now, previous);
        const writes = sum(ingestSamples, 'spillway_ingest_writes_total');
        series.push({
          t: Math.round((Date.now() - t0) / 1000),
          accepted: writes - previousWrites,
          committed: second.count,
          lagP50Ms: ms(quantile(second, 0.5)),
          lagP99Ms: ms(quantile(second, 0.99)),
          lagMaxMs: ms(maxBound(second)),
          backlog: group,
          rssIngestMb: Math.round((ingest.rssBytes() ?? 0) / 1048576),
          rssSinksMb: sinks.map((s) => Math.round((s.rssBytes() ?? 0) / 1048576)),
        });
        previous = now;
        previousWrites = writes;
      }
    })();
    const result = await autocannon({
      ...putRequests(ingest.url, {
        ids: o.ids,
        docs: o.docs,
        collection: COLLECTION,
        seed: o.seed + 3,
        connections: o.connections,
        durationS: o.durationS,
        rate: o.rate,
      }),
      timeout: 30,
    });
    const drainStart = Date.now();
    await o.stack.waitDrained(120_000).catch(() => undefined);
    const drainAfterMs = Date.now() - drainStart;
    await sleep(1100); // one more sample after the drain
    running = false;
    await sampler;
    const whole = diffHistograms(lagHistogram(await scrape(sinks)), start);
    const out: E2eResult = {
      offeredRate: o.rate,
      connections: o.connections,
      durationS: round(result.duration, 1),
      achievedRate: round(result['2xx'] / result.duration),
      non2xx: result.non2xx,
      errors: result.errors,
      requestLatencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
      committed: whole.count,
      lagMs: {
        p50: ms(quantile(whole, 0.5)),
        p99: ms(quantile(whole, 0.99)),
        max: ms(maxBound(whole)),
        mean: whole.count ? round((whole.sum / whole.count) * 1000, 1) : null,
      },
      drainAfterLoadMs: drainAfterMs,
      series,
      rss: { ingest: ingest.rssBytes() ?? null, sinks: sinks.map((s) => s.rssBytes() ?? null) },
    };
    o.say(
      `end to end at ${o.rate} req/s offered (${out.achievedRate} achieved): lag p50 ${out.lagMs.p50} ms, ` +
        `p99 ${out.lagMs.p99} ms, max ≤ ${out.lagMs.max} ms`,
    );

    return out;
  } finally {
    for (const s of sinks) await o.stack.removeSink(s);
  }
}

/** Unacked entries of the live stream (pending + undelivered); null without a group. */
async function groupBacklog(redis: Redis): Promise<number | null> {
  const groups = (await redis.xinfo('GROUPS', KEYS.stream).catch(() => [])) as unknown[][];
  const g = groups[0];
  if (!g) return null;
  const field = (key: string): unknown => g[g.indexOf(key) + 1];
  const lag = field('lag');

  return Number(field('pending')) + (lag === null ? 0 : Number(lag));
}
