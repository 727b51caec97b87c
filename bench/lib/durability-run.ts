// npm run bench -- --durability: what each durability level costs (issue 19). PUT and _bulk at memory, replicated,
// aof and persisted against a Redis master with one replica and a sink writing to PostgreSQL; the level each answer
// reached; and the latency of persisted writes while memory writes load the ingest (the write-to-commit lag).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { AppProcess, startPostgres, startRedis, stopAll } from '../../tools/local-stack';
import { loadNow, type RunStart } from './host';
import { say } from './log';
import type { BenchOptions } from './options';
import { percentile, sleep } from './stats';

const LEVELS = ['memory', 'replicated', 'aof', 'persisted'] as const;
const COLLECTION = 'bench_durability';
const IDS = 20_000;
const PARTITIONS = 4;
const PUT_CLIENTS = 32;
const BULK_CLIENTS = 8;
const BULK_OPS = 100;
/** persisted writers measured while PUT_CLIENTS memory writers load the ingest */
const PROBE_CLIENTS = 4;

interface Run {
  requests: number;
  items: number;
  latenciesMs: number[];
  /** answers whose Durability header named the level asked for */
  reached: number;
  failed: number;
  seconds: number;
}

type Send = (n: number) => Promise<Response>;

const doc = (n: number) => ({ owner: `u-${n % 97}`, status: 'active', n, pad: 'x'.repeat(200) });

/** `clients` closed loops sending `send` for `seconds`, each answer counted as `items` items. */
async function load(clients: number, seconds: number, level: string, items: number, send: Send): Promise<Run> {
  const run: Run = { requests: 0, items: 0, latenciesMs: [], reached: 0, failed: 0, seconds };
  const until = Date.now() + seconds * 1000;
  let n = Math.floor(Math.random() * IDS);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (Date.now() < until) {
        const started = performance.now();
        const res = await send(n++).catch(() => undefined);
        await res?.arrayBuffer();
        if (!res || res.status >= 300) {
          run.failed++;
          continue;
        }
        run.latenciesMs.push(performance.now() - started);
        run.requests++;
        run.items += items;
        if (res.headers.get('durability') === level) run.reached++;
      }
    }),
  );

  return run;
}

/** WAITAOF came with Redis 7.2 (the ingest's own check is in apps/ingest/src/durability/redis-server-facts.ts). */
function hasWaitAof(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);

  return major > 7 || (major === 7 && minor >= 2);
}

function mergeRuns(a: Run, b: Run): Run {
  return {
    requests: a.requests + b.requests,
    items: a.items + b.items,
    latenciesMs: [...a.latenciesMs, ...b.latenciesMs],
    reached: a.reached + b.reached,
    failed: a.failed + b.failed,
    seconds: a.seconds + b.seconds,
  };
}

function row(label: string, level: string, run: Run | string): string {
  if (typeof run === 'string') return `| ${label} | ${level} | ${run} | | | | |`;
  const p = (q: number) => percentile(run.latenciesMs, q).toFixed(1);
  const failed = run.failed > 0 ? `, ${run.failed} failed` : '';

  return (
    `| ${label} | ${level} | ${Math.round(run.requests / run.seconds)} | ${Math.round(run.items / run.seconds)} | ` +
    `${p(0.5)} | ${p(0.99)} | ${run.reached}/${run.requests}${failed} |`
  );
}

/** Runs the durability bench; writes `<date>-durability.md` (`-durability-quick.md`) and prints it. */
export async function runDurabilityBench(options: BenchOptions, start: RunStart): Promise<number> {
  const seconds = options.quick ? 4 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-durability-'));
  try {
    const master = await startRedis({ dir: join(dir, 'master'), appendOnly: true });
    await startRedis({ dir: join(dir, 'replica'), extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    const pg = await startPostgres({ dir: join(dir, 'pg') });
    const collections = join(dir, 'collections');
    mkdirSync(collections);
    writeFileSync(join(collections, 'docs.yaml'), `name: ${COLLECTION}\nkind: document\npartitions: ${PARTITIONS}\n`);
    const env = {
      REDIS_URL: master.url,
      DATABASE_URL: pg.url,
      COLLECTIONS_DIR: collections,
      INGEST_MAX_BACKLOG: '1000000000',
      LOG_LEVEL: 'warn',
    };
    const ingest = new AppProcess('ingest', 'ingest', env);
    const sink = new AppProcess('sink', 'sink', env);
    await Promise.all([ingest.start(), sink.start()]);
    await Promise.all([ingest.waitUntilReady(60_000), sink.waitUntilReady(60_000)]);
    const probe = new Redis(master.url);
    const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1] ?? '?';
    probe.disconnect();

    const put =
      (level: string): Send =>
      (n) =>
        fetch(`${ingest.url}/v1/${COLLECTION}/id-${n % IDS}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', durability: level },
          body: JSON.stringify(doc(n)),
        });
    const bulk =
      (level: string): Send =>
      (n) =>
        fetch(`${ingest.url}/v1/${COLLECTION}/_bulk`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', durability: level },
          body: JSON.stringify({
            ops: Array.from({ length: BULK_OPS }, (_, i) => ({
              op: 'put',
              id: `id-${(n * BULK_OPS + i) % IDS}`,
              doc: doc(n),
            })),
          }),
        });

    const lines = [
      `# Durability levels, ${start.date}`,
      '',
      `Redis ${version} (AOF, fsync every second) with one replica, PostgreSQL (durable), 1 ingest, 1 sink, on loopback;`,
      `a collection of ${PARTITIONS} partitions over ${IDS} ids, ~260-byte documents; ${seconds} s a run; load average`,
      `at the start ${start.load.join(', ')}; each level measured twice (levels in turn, then in reverse), merged. PUT: ${PUT_CLIENTS} closed-loop clients (and 1 alone, for the cost of one`,
      `write without queueing); _bulk: ${BULK_CLIENTS} clients of ${BULK_OPS} puts.`,
      '',
      '| request | level | req/s | items/s | p50 ms | p99 ms | answers that reached the level |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    ];
    say('durability: warm-up');
    await load(PUT_CLIENTS, options.quick ? 2 : 10, 'memory', 1, put('memory'));
    const usable = LEVELS.filter((level) => level !== 'aof' || hasWaitAof(version));
    // Two rounds, the second in reverse order, merged: the machine's drift then weighs on every level alike.
    const runs = new Map<string, Run>();
    const measure = async (label: string, level: string, measured: Promise<Run>) => {
      const run = await measured;
      const key = `${label}|${level}`;
      const merged = runs.get(key);
      runs.set(key, merged ? mergeRuns(merged, run) : run);
      await sleep(1000);
    };
    for (const level of [...usable, ...[...usable].reverse()]) {
      say(`durability: ${level}`);
      await measure('PUT, 1 client', level, load(1, seconds / 2, level, 1, put(level)));
      await measure('PUT', level, load(PUT_CLIENTS, seconds, level, 1, put(level)));
      await measure(`_bulk ×${BULK_OPS}`, level, load(BULK_CLIENTS, seconds, level, BULK_OPS, bulk(level)));
    }
    for (const level of LEVELS) {
      if (!usable.includes(level)) {
        lines.push(row('PUT, _bulk', level, `refused (400): Redis ${version} has no WAITAOF (7.2 and later)`));
        continue;
      }
      for (const label of ['PUT, 1 client', 'PUT', `_bulk ×${BULK_OPS}`]) {
        const run = runs.get(`${label}|${level}`);
        if (run) lines.push(row(label, level, run));
      }
    }
    say('durability: persisted under load');
    await sleep(1000);
    const [background, persisted] = await Promise.all([
      load(PUT_CLIENTS, seconds, 'memory', 1, put('memory')),
      load(PROBE_CLIENTS, seconds, 'persisted', 1, put('persisted')),
    ]);
    lines.push(
      '',
      `Lag of persisted writes under load: ${PROBE_CLIENTS} persisted PUT clients beside ${PUT_CLIENTS} memory ones.`,
      '',
      '| request | level | req/s | items/s | p50 ms | p99 ms | answers that reached the level |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      row('PUT (load)', 'memory', background),
      row('PUT (probe)', 'persisted', persisted),
      '',
      `Load average at the end: ${loadNow().join(', ')}.`,
    );
    const report = `${lines.join('\n')}\n`;
    mkdirSync(options.out, { recursive: true });
    const file = join(options.out, `${start.date}-durability${options.quick ? '-quick' : ''}.md`);
    writeFileSync(file, report);
    process.stdout.write(report);
    say(`written ${file}`);
    await Promise.all([ingest.terminate(), sink.terminate()]);

    return 0;
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}
