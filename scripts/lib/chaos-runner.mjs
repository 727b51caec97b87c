// One chaos run: a stack of its own, seeded traffic and seeded faults at once, then a drain and the verdict.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConvergence } from './chaos-check.mjs';
import { startFaults } from './chaos-faults.mjs';
import { Ledger } from './chaos-ledger.mjs';
import { startTraffic, TrafficStats } from './chaos-workload.mjs';
import { mulberry32 } from './loadgen-traffic.mjs';
import { partitionKeys, Stack } from './stack.mjs';

export const DOCS = 'chaos_docs';
export const EVENTS = 'chaos_events';
const SAMPLE_EVERY_MS = 1000;

/**
 * @typedef {{
 *   seed: number, duration: number, replicas: number, clients: number, ids: number, rate?: number,
 *   faults: string[], poison: number, claimIdleMs: number, drainTimeoutMs: number, keep?: boolean, finishFaultRound?: boolean,
 *   dir?: string, onProgress?: (line: string) => void,
 * }} ChaosOptions
 */

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes) => (bytes === undefined ? undefined : Math.round((bytes / 1048576) * 10) / 10);

/** RSS of ingest and each running sink, in MB. */
export function memory(stack) {
  return {
    ingest: mb(stack.ingest?.rssBytes()),
    sinks: Object.fromEntries(stack.sinks.map((s) => [s.name, mb(s.rssBytes())])),
  };
}

/**
 * Appends entries that the sink must dead-letter, as a buggy or foreign producer could: one that is not JSON,
 * one that PostgreSQL's jsonb refuses (a NUL character, which ingest itself turns away). They use entry layout 1,
 * which ingest no longer writes, so the run also keeps the sink's reading of a pre-upgrade backlog honest.
 */
async function injectPoison(stack, n) {
  const id = `poison-${n}`;
  const [doc, why] =
    n % 2 === 0 ? ['{"owner":', 'undecodable JSON'] : [JSON.stringify({ owner: 'nul\u0000inside', id }), 'NUL character'];
  const streamId = await stack.redis.xadd(partitionKeys(DOCS).stream, '*', 'sv', '1', 'op', 'put', 'id', id, 'v', '1', 'd', doc, 'ts', String(Date.now()));
  return { streamId: /** @type {string} */ (streamId), id, collection: DOCS, why };
}

/**
 * The stack a chaos or soak run drives: Redis with appendfsync always (or `redisFsync`), one document and one
 * event collection.
 * @param {{ dir?: string, replicas: number, claimIdleMs: number, redisFsync?: 'always' | 'everysec' }} options
 */
export function chaosStack(options) {
  return new Stack({
    dir: options.dir ?? mkdtempSync(join(tmpdir(), 'spillway-chaos-')),
    replicas: options.replicas,
    redisFsync: options.redisFsync ?? 'always',
    // No fsync (a process crash loses nothing fsync would keep) and, as some servers run, asynchronous commits
    // by default: the sink must turn synchronous commits on for its own sessions, and the pg-stop faults check it.
    pgDurable: false,
    collections: [
      { name: DOCS, kind: 'document', schema: { type: 'object', required: ['owner'] } },
      { name: EVENTS, kind: 'event' },
    ],
    sinkEnv: { SINK_CLAIM_IDLE_MS: String(options.claimIdleMs), SINK_BLOCK_MS: '500', SINK_SHUTDOWN_MS: '8000' },
  });
}

/**
 * Traffic (and faults, and poison, when asked) for `duration` seconds, sampling backlog and memory every second.
 * Returns once the faults have stopped with the stack whole and every request has its answer.
 * @param {Stack} stack
 * @param {{ ledger: Ledger, stats: TrafficStats, say: (line: string) => void }} record
 * @param {{ seed: number, duration: number, clients: number, ids: number, rate?: number, faults: string[], poison: number,
 *   claimIdleMs: number, finishFaultRound?: boolean }} options
 */
export async function runLoad(stack, { ledger, stats, say }, options) {
  /** @type {{ t: number, backlog: number, ingestMb?: number, sinkMb?: number }[]} */
  const samples = [];
  const startedAt = Date.now();
  const traffic = startTraffic({
    url: stack.ingestUrl,
    ledger,
    stats,
    options: { seed: options.seed, ids: options.ids, concurrency: options.clients, rate: options.rate, docs: DOCS, events: EVENTS },
  });
  const faults = options.faults.length
    ? startFaults({ stack, seed: options.seed, kinds: options.faults, claimIdleMs: options.claimIdleMs, docs: DOCS, startedAt })
    : undefined;
  const random = mulberry32(options.seed ^ 0xbad);
  const poisonAt = Array.from({ length: options.poison }, () => startedAt + random() * options.duration * 1000).sort((a, b) => a - b);
  /** @type {import('./chaos-check.mjs').Poison[]} */
  const poison = [];
  let faultsShown = 0;
  const showFaults = () => {
    for (const fault of faults?.timeline.slice(faultsShown) ?? []) say(`  ${fault.at}s ${fault.kind}: ${fault.detail}`);
    faultsShown = faults?.timeline.length ?? 0;
  };
  while (Date.now() - startedAt < options.duration * 1000) {
    await sleep(SAMPLE_EVERY_MS);
    while (poisonAt.length > 0 && poisonAt[0] <= Date.now()) {
      poisonAt.shift();
      poison.push(await injectPoison(stack, poison.length));
    }
    const backlog = await stack.backlog().catch(() => undefined);
    const mem = memory(stack);
    samples.push({
      t: Math.round((Date.now() - startedAt) / 1000),
      backlog: backlog ? Object.values(backlog).reduce((a, b) => a + b, 0) : -1,
      ingestMb: mem.ingest,
      sinkMb: Math.max(0, ...Object.values(mem.sinks).filter((v) => v !== undefined)),
    });
    showFaults();
  }
  say('stopping the faults and the traffic');
  await faults?.stop({ round: options.finishFaultRound ?? false });
  showFaults();
  await traffic.stop();
  return { sentMs: Date.now() - startedAt, samples, poison, faults: { injected: faults?.injected ?? {}, timeline: faults?.timeline ?? [] } };
}

/**
 * After the load: drain, check, and list what failed.
 * @param {Stack} stack
 * @param {{ ledger: Ledger, stats: TrafficStats }} record
 * @param {import('./chaos-check.mjs').Poison[]} poison
 * @param {number} drainTimeoutMs
 */
export async function drainAndVerify(stack, { ledger, stats }, poison, drainTimeoutMs) {
  const drainMs = await stack.waitDrained(drainTimeoutMs);
  const verdict = await checkConvergence({ redis: stack.redis, pg: stack.pg, ledger, docs: DOCS, events: EVENTS, poison });
  const unexpectedExits = stack.unexpectedExits();
  const ready = await Promise.all([stack.ingest, ...stack.sinks].map((app) => app.waitUntilReady(10_000).then(() => true, () => false)));
  const failures = [
    ...(verdict.mismatches > 0 ? [`${verdict.mismatches} mismatches`] : []),
    ...stats.violations.map((v) => `answer outside the contract: ${v}`),
    ...unexpectedExits.map((e) => `${e.name} exited on its own (${e.signal ?? `code ${e.code}`}) at ${e.at}`),
    ...(ready.every(Boolean) ? [] : ['not every process is ready at the end']),
  ];
  return { drainMs, verdict, failures };
}

/** The last lines each app printed, for an error report. */
export function appOutputTails(stack) {
  return [stack.ingest, ...stack.allSinks]
    .filter(Boolean)
    .map((app) => `--- ${app.name}\n${app.output.slice(-15).join('\n')}`)
    .join('\n');
}

/** @param {ChaosOptions} options */
export async function runChaos(options) {
  const say = options.onProgress ?? (() => undefined);
  const stack = chaosStack(options);
  const record = { ledger: new Ledger(), stats: new TrafficStats(), say };
  try {
    say(`starting Redis, PostgreSQL, ingest and ${options.replicas} sinks in ${stack.dir}`);
    await stack.start();
    const memoryAtStart = memory(stack);
    say(`running ${options.duration} s: ${options.clients} clients, ${options.faults.length ? options.faults.join(', ') : 'no faults'}`);
    const load = await runLoad(stack, record, options);
    const memoryAtLoadEnd = memory(stack);
    say('waiting for the backlog to drain');
    const { drainMs, verdict, failures } = await drainAndVerify(stack, record, load.poison, options.drainTimeoutMs);
    const flags = `--seed ${options.seed} --duration ${options.duration} --replicas ${options.replicas} --clients ${options.clients} --ids ${options.ids}`;
    return {
      seed: options.seed,
      replay: `npm run chaos -- ${flags}${options.faults.length ? '' : ' --faults none'}`,
      options: { ...options, onProgress: undefined },
      sentMs: load.sentMs,
      drainMs,
      traffic: trafficSummary(record),
      faults: load.faults,
      poison: load.poison,
      verdict,
      memory: { start: memoryAtStart, loadEnd: memoryAtLoadEnd, end: memory(stack) },
      backlog: { max: Math.max(0, ...load.samples.map((s) => s.backlog)), samples: load.samples },
      failures,
      passed: failures.length === 0,
    };
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : error}\n${appOutputTails(stack)}`, { cause: error });
  } finally {
    await stack.stop({ keep: options.keep });
  }
}

/** @param {{ ledger: Ledger, stats: TrafficStats }} record */
export function trafficSummary({ ledger, stats }) {
  return {
    requests: stats.requests,
    byKind: stats.byKind,
    acknowledgedDocumentWrites: ledger.ackedDocumentWrites,
    acknowledgedEvents: ledger.events.size,
  };
}
