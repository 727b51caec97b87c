// Phase 3: sink drain of a pre-filled backlog (puts, patches, deletes over the ids) with 1, 2 and 4 replicas, and a
// hot-key variant. The backlog is written once per variant through the Lua script in big pipelines, kept in Redis as
// a template stream (with the consumer group already created at 0), and copied over the live stream for each run:
// the replicas are started and ready first, so a run times the drain only. Tables are truncated between runs.
import { forEachKeyWithPrefix, GROUP } from '../../scripts/lib/stack.mjs';
import { fillBacklog, KEYS, COLLECTION } from './redis-writes.mjs';
import { byLabel, histogram, quantile, scrape } from './prom.mjs';
import { idPicker, seededRandom } from './workload.mjs';
import { msSince, round, sleep } from './stats.mjs';
import { cpuSince, cpuSnapshot } from './cpu.mjs';

const TEMPLATE = (name) => `spw:{${COLLECTION}.0}:bench-template-${name}`;
const WRITTEN = ['inserted', 'updated', 'deleted'];
const DOCUMENT_PREFIX = KEYS.document('');
const DOCUMENTS_COPY = (name) => `bench:template-${name}:`;

/**
 * Keeps a copy of the document hashes as a template's fill left them. The sink skips an entry whose document Redis
 * already holds at a newer version, so each run must start from the hashes that go with its backlog.
 */
async function snapshotDocuments(redis, name) {
  await forEachKeyWithPrefix(redis, DOCUMENT_PREFIX, async (keys) => {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call('COPY', key, DOCUMENTS_COPY(name) + key.slice(DOCUMENT_PREFIX.length), 'REPLACE');
    await pipeline.exec();
  });
}

/** Puts back the document hashes of a template (see snapshotDocuments). */
async function restoreDocuments(redis, name) {
  await forEachKeyWithPrefix(redis, DOCUMENT_PREFIX, async (keys) => void (await redis.unlink(...keys)));
  await forEachKeyWithPrefix(redis, DOCUMENTS_COPY(name), async (keys) => {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call('COPY', key, DOCUMENT_PREFIX + key.slice(DOCUMENTS_COPY(name).length), 'REPLACE');
    await pipeline.exec();
  });
}

/**
 * Fills the stream with a backlog and keeps it as a template key.
 * @param {import('ioredis').Redis} redis
 * @param {{ name: string, entries: number, ids: string[], docs: string[], seed: number,
 *           skew?: { hotFraction: number, hotShare: number } }} o
 */
export async function buildTemplate(redis, o) {
  await redis.del(KEYS.stream);
  const random = seededRandom(o.seed);
  const start = process.hrtime.bigint();
  const mix = await fillBacklog(redis, { entries: o.entries, pick: idPicker(random, o.ids, o.skew), docs: o.docs, random });
  const ms = msSince(start);
  await redis.xgroup('CREATE', KEYS.stream, GROUP, '0');
  await redis.rename(KEYS.stream, TEMPLATE(o.name));
  await snapshotDocuments(redis, o.name);
  const length = await redis.xlen(TEMPLATE(o.name));
  return { name: o.name, entries: length, mix, fillMs: Math.round(ms), fillRatePerSec: round((length / ms) * 1000) };
}

/**
 * Group state of the live stream: entries not yet acked (undelivered + pending), or null before the group exists.
 * @param {import('ioredis').Redis} redis
 */
async function unacked(redis) {
  const groups = /** @type {unknown[][]} */ (await redis.xinfo('GROUPS', KEYS.stream).catch(() => []));
  const group = groups.find((g) => g[g.indexOf('name') + 1] === GROUP);
  if (!group) return null;
  const field = (key) => group[group.indexOf(key) + 1];
  let lag = field('lag');
  if (lag === null || lag === undefined) {
    // Redis cannot always tell the lag (after deletions); entries added minus entries read is the same figure here.
    const info = /** @type {unknown[]} */ (await redis.xinfo('STREAM', KEYS.stream));
    lag = Number(info[info.indexOf('entries-added') + 1]) - Number(field('entries-read'));
  }
  return Number(field('pending')) + Number(lag);
}

/**
 * One drain: `replicas` sinks started and ready on an empty stream, then the template copied in; timed until every
 * entry is acked (or `timeoutMs`, reporting the part done).
 * @param {{ stack: import('../../scripts/lib/stack.mjs').Stack, replicas: number, template: string, entries: number,
 *           timeoutMs: number, say: (s: string) => void }} o
 */
export async function drainRun(o) {
  const redis = /** @type {import('ioredis').Redis} */ (o.stack.redis);
  const pool = /** @type {import('pg').Pool} */ (o.stack.pg);
  await redis.del(KEYS.stream);
  await restoreDocuments(redis, o.template);
  await pool.query(`TRUNCATE ${COLLECTION}, spillway_tombstones`);
  await pool.query(`SELECT pg_stat_reset()`);
  const sinks = [];
  for (let i = 0; i < o.replicas; i++) sinks.push(await o.stack.addSink());
  await Promise.all(sinks.map((s) => s.waitUntilReady()));
  await sleep(500);
  const before = await scrape(sinks);

  const cpuBefore = cpuSnapshot(o.stack, sinks);
  const start = process.hrtime.bigint();
  await redis.call('COPY', TEMPLATE(o.template), KEYS.stream, 'REPLACE');
  let remaining = o.entries;
  let timedOut = false;
  const samples = [];
  for (;;) {
    const left = await unacked(redis);
    if (left !== null) remaining = left;
    const ms = msSince(start);
    samples.push({ ms: Math.round(ms), unacked: remaining === Infinity ? null : remaining });
    if (remaining === 0) break;
    if (ms > o.timeoutMs) {
      timedOut = true;
      break;
    }
    await sleep(100);
  }
  const drainMs = msSince(start);
  const cpu = cpuSince(cpuBefore, cpuSnapshot(o.stack, sinks));
  const after = await scrape(sinks);
  const writeS = histogram(after, 'spillway_sink_write_duration_seconds');
  const batches = histogram(after, 'spillway_sink_batch_size');
  const outcomes = byLabel(after, 'spillway_sink_entries_total', 'outcome');
  const outcomesBefore = byLabel(before, 'spillway_sink_entries_total', 'outcome');
  for (const key of Object.keys(outcomes)) outcomes[key] -= outcomesBefore[key] ?? 0;
  const settled = Object.values(outcomes).reduce((a, b) => a + b, 0);
  const rowsWritten = WRITTEN.reduce((n, k) => n + (outcomes[k] ?? 0), 0);
  await sleep(1200); // table statistics are flushed about once a second
  const stats = await pool.query(
    `SELECT n_tup_ins::bigint AS ins, n_tup_upd::bigint AS upd, n_tup_del::bigint AS del, n_live_tup::bigint AS live
       FROM pg_stat_user_tables WHERE relname = $1`,
    [COLLECTION],
  );
  const rss = sinks.map((s) => s.rssBytes() ?? null);
  for (const s of sinks) await o.stack.removeSink(s);
  const acked = o.entries - (remaining === Infinity ? o.entries : remaining);
  const run = {
    template: o.template,
    replicas: o.replicas,
    entries: o.entries,
    acked,
    timedOut,
    drainMs: Math.round(drainMs),
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
    tableStats: stats.rows[0] ? Object.fromEntries(Object.entries(stats.rows[0]).map(([k, v]) => [k, Number(v)])) : null,
    rssSinks: rss,
    progress: thin(samples, 60),
  };
  o.say(
    `sink drain ${o.template}, ${o.replicas} replica(s): ${run.entriesPerSec} entries/s, ${run.rowsPerSec} rows/s, ` +
      `${run.rowsPerEntry} rows/entry; cpu s: sinks ${cpu.sinksS}, postgres ${cpu.postgresS}, redis ${cpu.redisS}, ` +
      `others ${cpu.otherS} in ${cpu.wallS} s (machine ${cpu.machineBusyPct}% busy)${timedOut ? ` (stopped after ${Math.round(drainMs / 1000)} s, ${acked} acked)` : ''}`,
  );
  return run;
}

/** At most `n` samples, evenly spaced, the last one kept. @template T @param {T[]} list @param {number} n */
function thin(list, n) {
  if (list.length <= n) return list;
  const step = list.length / n;
  const out = Array.from({ length: n - 1 }, (_, i) => list[Math.floor(i * step)]);
  out.push(list[list.length - 1]);
  return out;
}

/**
 * @param {{ stack: import('../../scripts/lib/stack.mjs').Stack, ids: string[], docs: string[], seed: number,
 *           entries: number, hotEntries: number, replicaCounts: number[], hotReplicas: number, timeoutMs: number,
 *           say: (s: string) => void }} o
 */
export async function sinkPhase(o) {
  const redis = /** @type {import('ioredis').Redis} */ (o.stack.redis);
  const templates = [];
  templates.push(await buildTemplate(redis, { name: 'uniform', entries: o.entries, ids: o.ids, docs: o.docs, seed: o.seed }));
  o.say(`backlog 'uniform': ${templates[0].entries} entries written in ${templates[0].fillMs} ms (${templates[0].fillRatePerSec}/s)`);
  templates.push(
    await buildTemplate(redis, {
      name: 'hot',
      entries: o.hotEntries,
      ids: o.ids,
      docs: o.docs,
      seed: o.seed + 7,
      skew: { hotFraction: 0.01, hotShare: 0.5 },
    }),
  );
  o.say(`backlog 'hot': ${templates[1].entries} entries written in ${templates[1].fillMs} ms`);
  const runs = [];
  try {
    for (const replicas of o.replicaCounts) {
      runs.push(await drainRun({ stack: o.stack, replicas, template: 'uniform', entries: templates[0].entries, timeoutMs: o.timeoutMs, say: o.say }));
    }
    runs.push(await drainRun({ stack: o.stack, replicas: o.hotReplicas, template: 'hot', entries: templates[1].entries, timeoutMs: o.timeoutMs, say: o.say }));
  } finally {
    await redis.del(TEMPLATE('uniform'), TEMPLATE('hot'), KEYS.stream);
  }
  return { templates, runs, rssIngest: o.stack.ingest?.rssBytes() ?? null };
}
