#!/usr/bin/env node
// npm run bench: measures Spillway against the raw limits of Redis and PostgreSQL in one run (issue 4) and writes
// bench/results/<date>.json, .md and .svg. Usage: npm run bench -- --help
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { ensureBuilt, ROOT, Stack } from '../scripts/lib/stack.mjs';
import { chartSvg } from './lib/chart.mjs';
import { e2ePhase } from './lib/e2e-phase.mjs';
import { ingestPhase } from './lib/ingest-phase.mjs';
import { rawPostgres } from './lib/raw-pg.mjs';
import { rawRedis } from './lib/raw-redis.mjs';
import { seedDocuments, writeDocumentsLua, defineWriteDocuments, KEYS } from './lib/redis-writes.mjs';
import { judgeTargets, markdown } from './lib/report.mjs';
import { drainName, sinkPhase } from './lib/sink-phase.mjs';
import { mb } from './lib/stats.mjs';
import { makeDocuments, makeIds, seededRandom } from './lib/workload.mjs';

const USAGE = `Usage: npm run bench -- [flags]

Starts its own Redis (AOF, fsync every second) and PostgreSQL, ingest and sink processes (the built apps) on
loopback, in a temporary folder, and measures:
  1 raw      Redis writeDocuments Lua singly, in pipelines of 500 and 500 documents a call; PostgreSQL multi-row upserts and COPY+upsert
  2 ingest   PUT (100 connections), _bulk (500 ops a request), and a bare Fastify PUT on the same Lua
  3 sink     drain of a pre-filled backlog with 1, 2 and 4 replicas (twice, in the order 1, 2, 4, 4, 2, 1), and a
             hot-key variant
  4 e2e      steady PUT load at half the measured maximum, lag from the sinks' lag histograms
  5 memory   RSS of ingest and sinks at the end of each phase (always recorded)
Writes bench/results/<date>.json, .md and .svg (<date>-quick.* with --quick, <date>-partial.* with --only or
--entries, --replicas or --rounds) and prints the markdown table.

  --quick          small smoke run (50k entries, short phases; about 2 minutes)
  --only LIST      phases to run, e.g. 1,3 or raw,sink (default all)
  --entries N      backlog entries for the sink drain (default 1000000; --quick 50000)
  --replicas LIST  sink replica counts of the uniform drain (default 1,2,4)
  --rounds N       drains of each replica count, every other round in reverse order; the figures are their mean
                   (default 2; --quick 1)
  --seed N         payload and id seed (default 1)
  --out DIR        results folder (default bench/results)
  -h, --help       this text
`;

const require = createRequire(import.meta.url);
const servers = require('../scripts/lib/servers.js');

const PHASES = { raw: 1, ingest: 2, sink: 3, e2e: 4, memory: 5 };
const say = (line) => process.stderr.write(`bench: ${line}\n`);

/** @param {string[]} argv */
function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      entries: { type: 'string' },
      replicas: { type: 'string', default: '1,2,4' },
      rounds: { type: 'string' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: join(ROOT, 'bench', 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const only = new Set(
    (values.only ?? '1,2,3,4,5').split(',').map((p) => {
      const phase = PHASES[p.trim()] ?? Number(p.trim());
      if (!Number.isInteger(phase) || phase < 1 || phase > 5) throw new Error(`--only: unknown phase "${p}"`);
      return phase;
    }),
  );
  const int = (value, name, min, max) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const quick = values.quick;
  const entries = values.entries === undefined ? (quick ? 50_000 : 1_000_000) : int(values.entries, 'entries', 1000, 20_000_000);
  return {
    quick,
    only: [...only].sort(),
    entries,
    seed: int(values.seed, 'seed', 0, 2 ** 31),
    out: values.out,
    partial: values.only !== undefined || values.entries !== undefined || values.replicas !== '1,2,4' || values.rounds !== undefined,
    ids: 100_000,
    docPool: 2000,
    redisDurationMs: quick ? 3000 : 8000,
    redisConcurrency: 64,
    batchSize: 500,
    redisBatchesInFlight: 4,
    pgRows: quick ? 20_000 : 100_000,
    pgConnections: [1, 2],
    ingestDurationS: quick ? 5 : 15,
    warmupS: quick ? 1 : 3,
    putConnections: 100,
    bulkConnections: 8,
    bulkOps: 500,
    replicaCounts: values.replicas.split(',').map((r) => int(r.trim(), 'replicas', 1, 16)),
    sinkRounds: values.rounds === undefined ? (quick ? 1 : 2) : int(values.rounds, 'rounds', 1, 10),
    hotReplicas: 2,
    drainTimeoutMs: quick ? 60_000 : 150_000,
    e2eDurationS: quick ? 10 : 60,
    e2eConnections: 32,
    e2eReplicas: 2,
  };
}

/** Local date YYYY-MM-DD. */
const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

const loadNow = () => loadavg().map((x) => Number(x.toFixed(2)));

function uptimeLine() {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadNow().join(', ')}`;
  }
}

async function main() {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const started = Date.now();
  const results = {
    date: today(),
    startedAt: new Date().toISOString(),
    options,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, redis: '', postgres: '' },
    load: { start: loadNow(), end: /** @type {number[]} */ ([]), uptimeStart: uptimeLine(), uptimeEnd: '' },
    settings: {},
    memory: /** @type {any[]} */ ([]),
  };
  say(`${results.load.uptimeStart}`);
  ensureBuilt();
  const lua = writeDocumentsLua();

  const sessions = YAML.parse(readFileSync(join(ROOT, 'config', 'collections', 'sessions.yaml'), 'utf8'));
  const stack = new Stack({
    dir: mkdtempSync(join(tmpdir(), 'spillway-bench-')),
    replicas: 1, // creates the tables and runs the migrations; removed before the first phase
    collections: [sessions],
    redisFsync: 'everysec',
    pgDurable: true,
    ingestEnv: { INGEST_MAX_BACKLOG: String(1_000_000_000) },
  });
  // Ctrl-C: the servers stop (servers.js), the app processes are killed and the folder removed.
  servers.stopAllOnSignals(() => {
    for (const app of [stack.ingest, ...stack.allSinks]) app?.child?.kill('SIGKILL');
    rmSync(stack.dir, { recursive: true, force: true });
  });
  const ids = makeIds(options.ids);
  const docs = makeDocuments(seededRandom(options.seed), options.docPool);
  const recordMemory = (phase, sinksMb = [], other = '') =>
    results.memory.push({ phase, ingestMb: mb(stack.ingest?.rssBytes()), sinksMb, other });
  try {
    say(`starting Redis, PostgreSQL and ingest in ${stack.dir}`);
    await stack.start();
    await waitForTables(/** @type {import('pg').Pool} */ (stack.pg));
    await stack.removeSink(stack.sinks[0]);
    const redis = /** @type {import('ioredis').Redis} */ (stack.redis);
    defineWriteDocuments(redis, lua);
    // Big backlogs go through the AOF several times over; a rewrite in the middle of a measurement is noise.
    await redis.config('SET', 'auto-aof-rewrite-percentage', '0');
    results.machine.redis = String(/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]);
    results.machine.postgres = String((await /** @type {import('pg').Pool} */ (stack.pg).query('SHOW server_version')).rows[0].server_version);
    results.settings = {
      redis: 'appendonly yes, appendfsync everysec, noeviction, auto-aof-rewrite-percentage 0 (set by the bench)',
      postgres: 'fsync on, synchronous_commit on (servers.js defaults)',
      sink: 'defaults (SINK_BATCH_SIZE 500, SINK_BLOCK_MS 1000)',
      ingest: 'defaults, INGEST_MAX_BACKLOG 1e9 so the ingest phase never answers 429',
    };
    say(`seeding ${ids.length} documents`);
    await seedDocuments(redis, ids, docs);
    await redis.del(KEYS.stream);
    const common = { ids, docs, seed: options.seed, say };

    if (options.only.includes(1)) {
      say('phase 1: raw limits');
      const redisRaw = await rawRedis({
        ...common,
        redisUrl: stack.redisUrl,
        lua,
        durationMs: options.redisDurationMs,
        concurrency: options.redisConcurrency,
        batchSize: options.batchSize,
        batchesInFlight: options.redisBatchesInFlight,
      });
      const postgres = await rawPostgres({
        ...common,
        databaseUrl: stack.databaseUrl,
        rows: options.pgRows,
        batchSize: options.batchSize,
        connections: options.pgConnections,
      });
      results.raw = { redis: redisRaw, postgres };
      recordMemory('1 raw');
    }
    if (options.only.includes(2)) {
      say('phase 2: ingest');
      results.ingest = await ingestPhase({
        ...common,
        stack,
        durationS: options.ingestDurationS,
        warmupS: options.warmupS,
        connections: options.putConnections,
        bulkConnections: options.bulkConnections,
        bulkOps: options.bulkOps,
      });
      recordMemory('2 ingest', [], `bare Fastify ${mb(results.ingest.rss.bare)}`);
    }
    if (options.only.includes(3)) {
      say(`phase 3: sink drain of ${options.entries} entries`);
      results.sink = await sinkPhase({
        ...common,
        stack,
        entries: options.entries,
        hotEntries: options.entries,
        replicaCounts: options.replicaCounts,
        rounds: options.sinkRounds,
        hotReplicas: options.hotReplicas,
        timeoutMs: options.drainTimeoutMs,
      });
      for (const run of results.sink.runs) {
        recordMemory(`3 sink, ${drainName(run, options.sinkRounds)}, after the drain`, run.rssSinks.map(mb));
      }
    }
    if (options.only.includes(4)) {
      const max = results.ingest?.put?.requestsPerSec ?? (await probeMax(stack, common, options));
      const rate = Math.max(1, Math.floor(max / 2));
      say(`phase 4: end to end at ${rate} req/s (half of ${max}) for ${options.e2eDurationS} s`);
      results.e2e = await e2ePhase({ ...common, stack, rate, durationS: options.e2eDurationS, connections: options.e2eConnections, replicas: options.e2eReplicas });
      results.e2e.maxRateUsed = max;
      recordMemory('4 e2e', results.e2e.rss.sinks.map(mb));
    }
  } finally {
    const crashes = stack.unexpectedExits();
    if (crashes.length) {
      say(`processes exited unexpectedly: ${JSON.stringify(crashes)}`);
      for (const app of [stack.ingest, ...stack.allSinks]) if (app?.unexpectedExits.length) say(`${app.name}:\n${app.output.slice(-20).join('\n')}`);
    }
    results.unexpectedExits = crashes;
    await stack.stop();
  }
  results.load.end = loadNow();
  results.load.uptimeEnd = uptimeLine();
  results.elapsedS = Math.round((Date.now() - started) / 1000);
  results.targets = judgeTargets(results);

  const suffix = options.quick ? '-quick' : options.partial ? '-partial' : '';
  const base = join(options.out, `${results.date}${suffix}`);
  mkdirSync(options.out, { recursive: true });
  const table = markdown(results);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, table);
  writeFileSync(`${base}.svg`, chartSvg(results));
  say(`${results.load.uptimeEnd}`);
  say(`wrote ${base}.json, .md, .svg`);
  process.stdout.write(`\n${table}`);
  return results.unexpectedExits.length ? 1 : 0;
}

/**
 * The sink provisions its tables in the background after it answers; wait for them.
 * @param {import('pg').Pool} pool
 */
async function waitForTables(pool) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { rows } = await pool.query(`SELECT to_regclass('spillway_tombstones') AS t, to_regclass('sessions') AS s`);
    if (rows[0].t && rows[0].s) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the sink did not create its tables within 60 s');
}

/**
 * The maximum PUT rate, when phase 2 did not run: a short all-out autocannon run against ingest.
 * @param {Stack} stack @param {any} common @param {any} options
 */
async function probeMax(stack, common, options) {
  const { putRequests, runLoad } = await import('./lib/load.mjs');
  const probe = await runLoad(putRequests(/** @type {any} */ (stack.ingest).url, { ...common, collection: 'sessions', connections: options.putConnections, durationS: 5 }));
  await /** @type {import('ioredis').Redis} */ (stack.redis).del(KEYS.stream);
  say(`probe: ${probe.requestsPerSec} PUT req/s`);
  return probe.requestsPerSec;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
