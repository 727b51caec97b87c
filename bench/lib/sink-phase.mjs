// Phase 3: sink drain of a pre-filled backlog (puts, patches, deletes over the ids) with 1, 2 and 4 replicas, and a
// hot-key variant. The backlog is written once per variant through the Lua script in big pipelines, kept in Redis as
// a template stream (with the consumer group already created at 0), and copied over the live stream for each run.
// The replicas are started, then warmed up on smaller backlogs over other ids, one backlog a replica so that every
// sink gets the same share whatever their number (V8 optimizes each process's hot paths during its first tens of
// thousands of entries, and the functions called once a batch only after hundreds of batches), so a run times the
// drain by sinks already at work, as when a burst reaches a running pipeline; the first warm-up backlog's own rate is
// reported as the cold start. Tables are truncated before the timed drain.
import { forEachKeyWithPrefix, GROUP } from '../../scripts/lib/stack.mjs';
import { fillBacklog, KEYS, COLLECTION } from './redis-writes.mjs';
import { byLabel, diffHistograms, histogram, quantile, scrape } from './prom.mjs';
import { idPicker, seededRandom } from './workload.mjs';
import { msSince, round, sleep } from './stats.mjs';
import { cpuSince, cpuSnapshot } from './cpu.mjs';
import { commandsSince, commandStats } from './redis-commands.mjs';

const TEMPLATE = (name) => `spw:{${COLLECTION}.0}:bench-template-${name}`;
const WRITTEN = ['inserted', 'updated', 'deleted'];
const DOCUMENT_PREFIX = KEYS.document('');
const DOCUMENTS_COPY = (name) => `bench:template-${name}:`;
const WARM_UP = 'warm-up';

/**
 * Keeps a copy of the document hashes as a template's fill left them. The sink skips an entry whose document Redis
 * already holds at a newer version, so each run must start from the hashes that go with its backlog.
 */
async function snapshotDocuments(redis, name, idPrefix = '') {
  await forEachKeyWithPrefix(redis, DOCUMENT_PREFIX + idPrefix, async (keys) => {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.call('COPY', key, DOCUMENTS_COPY(name) + key.slice(DOCUMENT_PREFIX.length), 'REPLACE');
    await pipeline.exec();
  });
}

/** Puts back the document hashes of templates (see snapshotDocuments), and only those. @param {string[]} names */
async function restoreDocuments(redis, names) {
  await forEachKeyWithPrefix(redis, DOCUMENT_PREFIX, async (keys) => void (await redis.unlink(...keys)));
  for (const name of names) {
    await forEachKeyWithPrefix(redis, DOCUMENTS_COPY(name), async (keys) => {
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.call('COPY', key, DOCUMENT_PREFIX + key.slice(DOCUMENTS_COPY(name).length), 'REPLACE');
      await pipeline.exec();
    });
  }
}

/**
 * Fills the stream with a backlog and keeps it as a template key.
 * @param {import('ioredis').Redis} redis
 * @param {{ name: string, entries: number, ids: string[], docs: string[], seed: number,
 *           skew?: { hotFraction: number, hotShare: number }, idPrefix?: string }} o
 */
export async function buildTemplate(redis, o) {
  await redis.del(KEYS.stream);
  const random = seededRandom(o.seed);
  const start = process.hrtime.bigint();
  const mix = await fillBacklog(redis, { entries: o.entries, pick: idPicker(random, o.ids, o.skew), docs: o.docs, random });
  const ms = msSince(start);
  await redis.xgroup('CREATE', KEYS.stream, GROUP, '0');
  await redis.rename(KEYS.stream, TEMPLATE(o.name));
  await snapshotDocuments(redis, o.name, o.idPrefix);
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
 * Copies a template over the live stream: the backlog is in place once this returns. Redis does the copy in one
 * command, during which the sinks wait, so the drain is timed from its end.
 * @param {import('ioredis').Redis} redis
 * @param {string} template
 */
async function fillFromTemplate(redis, template) {
  await redis.call('COPY', TEMPLATE(template), KEYS.stream, 'REPLACE');
}

/**
 * Waits until every entry of the live stream is acked, or `timeoutMs` passed.
 * @param {import('ioredis').Redis} redis
 * @param {number} entries
 * @param {number} timeoutMs
 */
async function waitUntilDrained(redis, entries, timeoutMs) {
  const start = process.hrtime.bigint();
  let remaining = entries;
  let timedOut = false;
  const samples = [];
  for (;;) {
    const left = await unacked(redis);
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

/**
 * One drain: `replicas` sinks started, ready and warmed up on as many warm-up templates, one after the other, then
 * the template copied in; timed from the end of the copy until every entry is acked (or `timeoutMs`, reporting the
 * part done).
 * @param {{ stack: import('../../scripts/lib/stack.mjs').Stack, replicas: number, template: string, entries: number,
 *           warmUps: { name: string, entries: number }[], timeoutMs: number, say: (s: string) => void }} o
 */
export async function drainRun(o) {
  const redis = /** @type {import('ioredis').Redis} */ (o.stack.redis);
  const pool = /** @type {import('pg').Pool} */ (o.stack.pg);
  await redis.del(KEYS.stream);
  const warmUps = o.warmUps.slice(0, o.replicas);
  await restoreDocuments(redis, [o.template, ...warmUps.map((w) => w.name)]);
  const sinks = [];
  for (let i = 0; i < o.replicas; i++) sinks.push(await o.stack.addSink());
  await Promise.all(sinks.map((s) => s.waitUntilReady()));
  let coldStart;
  for (const template of warmUps) {
    await fillFromTemplate(redis, template.name);
    const warmUp = await waitUntilDrained(redis, template.entries, o.timeoutMs);
    coldStart ??= { entries: warmUp.acked, drainMs: Math.round(warmUp.drainMs), entriesPerSec: round((warmUp.acked / warmUp.drainMs) * 1000) };
  }
  await redis.del(KEYS.stream);
  await pool.query(`TRUNCATE ${COLLECTION}, spillway_tombstones`);
  await pool.query(`SELECT pg_stat_reset()`);
  await sleep(1000);
  const before = await scrape(sinks);

  await fillFromTemplate(redis, o.template);
  const cpuBefore = cpuSnapshot(o.stack, sinks);
  const draining = waitUntilDrained(redis, o.entries, o.timeoutMs);
  const commandsBefore = await commandStats(redis);
  const { drainMs, acked, timedOut, samples } = await draining;
  const cpu = cpuSince(cpuBefore, cpuSnapshot(o.stack, sinks));
  const redisCommands = commandsSince(commandsBefore, await commandStats(redis), acked);
  const after = await scrape(sinks);
  const drained = (base) => diffHistograms(histogram(after, base), histogram(before, base)); // the warm-up left out
  const writeS = drained('spillway_sink_write_duration_seconds');
  const batches = drained('spillway_sink_batch_size');
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
  const run = {
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
    tableStats: stats.rows[0] ? Object.fromEntries(Object.entries(stats.rows[0]).map(([k, v]) => [k, Number(v)])) : null,
    rssSinks: rss,
    progress: thin(samples, 60),
  };
  o.say(
    `sink drain ${o.template}, ${o.replicas} replica(s): ${run.entriesPerSec} entries/s, ${run.rowsPerSec} rows/s, ` +
      `${run.rowsPerEntry} rows/entry; cpu s: sinks ${cpu.sinksS}, postgres ${cpu.postgresS}, redis ${cpu.redisS}, ` +
      `others ${cpu.otherS}, host steal ${cpu.stealS} in ${cpu.wallS} s (machine ${cpu.machineBusyPct}% busy)${timedOut ? ` (stopped after ${Math.round(drainMs / 1000)} s, ${acked} acked)` : ''}; ` +
      `cold start: ${coldStart?.entriesPerSec} entries/s over the first ${coldStart?.entries} warm-up entries`,
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
 * A drain's replica count, and its round when the uniform drains ran more than once.
 * @param {{ template: string, replicas: number, round: number }} run @param {number} rounds
 */
export const replicasAndRound = (run, rounds) =>
  `${run.replicas} replica(s)${rounds > 1 && run.template === 'uniform' ? `, round ${run.round}` : ''}`;

/**
 * What the report calls a drain: template, replica count and round.
 * @param {{ template: string, replicas: number, round: number }} run @param {number} rounds
 */
export const drainName = (run, rounds) => `${run.template}, ${replicasAndRound(run, rounds)}`;

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * The drains of each template and replica count taken together: their mean rates, and each round's entries/s.
 * @param {Awaited<ReturnType<typeof drainRun>>[]} runs
 */
function meanOfRounds(runs) {
  const groups = new Map();
  for (const run of runs) {
    const key = `${run.template} ${run.replicas}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group) => ({
    template: group[0].template,
    replicas: group[0].replicas,
    entries: group[0].entries,
    timedOut: group.some((x) => x.timedOut),
    entriesPerSec: round(mean(group.map((x) => x.entriesPerSec))),
    rowsPerSec: round(mean(group.map((x) => x.rowsPerSec))),
    rowsWritten: round(mean(group.map((x) => x.rowsWritten))),
    rowsPerEntry: round(mean(group.map((x) => x.rowsPerEntry ?? NaN)), 3),
    roundsEntriesPerSec: group.map((x) => x.entriesPerSec),
  }));
}

/**
 * The uniform drain `rounds` times for each replica count, every other round in reverse order (1, 2, 4, 4, 2, 1) so
 * that a machine whose speed drifts during the phase favours no replica count, then the hot-key drain once.
 * @param {{ stack: import('../../scripts/lib/stack.mjs').Stack, ids: string[], docs: string[], seed: number,
 *           entries: number, hotEntries: number, replicaCounts: number[], rounds: number, hotReplicas: number,
 *           timeoutMs: number, say: (s: string) => void }} o
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
  // One warm-up backlog a replica, each a fifth of the entries over a tenth as many ids of its own, so that the
  // warm-up leaves the documents and the sinks' known versions of the timed backlog's ids alone.
  const warmUps = [];
  const warmUpIds = o.ids.slice(0, Math.ceil(o.ids.length / 10));
  for (let k = 1; k <= Math.max(...o.replicaCounts, o.hotReplicas); k++) {
    const name = `${WARM_UP}-${k}`;
    const ids = warmUpIds.map((id) => `${name}-${id}`);
    warmUps.push(await buildTemplate(redis, { name, entries: Math.ceil(o.entries / 5), ids, docs: o.docs, seed: o.seed + 13 + k, idPrefix: `${name}-` }));
  }
  templates.push(...warmUps);
  o.say(`warm-up backlogs: ${warmUps.length} of ${warmUps[0].entries} entries, each over ${warmUpIds.length} other ids`);
  const runs = [];
  const drain = (replicas, template) =>
    drainRun({ stack: o.stack, replicas, template: template.name, entries: template.entries, warmUps, timeoutMs: o.timeoutMs, say: o.say });
  try {
    for (let round = 1; round <= o.rounds; round++) {
      const order = round % 2 === 1 ? o.replicaCounts : [...o.replicaCounts].reverse();
      for (const replicas of order) runs.push({ round, ...(await drain(replicas, templates[0])) });
    }
    runs.push({ round: 1, ...(await drain(o.hotReplicas, templates[1])) });
  } finally {
    await redis.del(...templates.map((t) => TEMPLATE(t.name)), KEYS.stream);
  }
  return { templates, runs, drains: meanOfRounds(runs), rssIngest: o.stack.ingest?.rssBytes() ?? null };
}
