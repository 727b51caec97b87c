// One bench run: the stack up, the chosen phases in turn, the stack down, then the results written as JSON, markdown
// and SVG. Loaded by bench/main.ts once the apps are built and the Lua scripts generated.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { defineSpillwayScripts } from '@app/redis';
import { type CollectionSpec, ROOT, type Stack } from '../../tools/local-stack';
import { reportUnexpectedExits } from './app-exits';
import { BenchDatabase } from './bench-database';
import { benchStack } from './bench-stack';
import { chartSvg } from './chart';
import { e2ePhase } from './e2e-phase';
import { machineFacts, recordRunEnd, type RunStart } from './host';
import { ingestPhase } from './ingest-phase';
import { putRequests, runLoad } from './load';
import { say } from './log';
import type { BenchOptions } from './options';
import type { PhaseInputs } from './phase';
import { rawMariadb } from './raw-mariadb';
import { rawPostgres } from './raw-pg';
import { rawRedis } from './raw-redis';
import { mappedPhase, MAPPED_COLLECTION } from './mapped-phase';
import { COLLECTION, KEYS, seedDocuments } from './redis-writes';
import { judgeTargets, markdown } from './report';
import type { BenchResults } from './results';
import { drainName, sinkPhase } from './sink-phase';
import { mb } from './stats';
import { makeDocuments, makeIds, seededRandom } from './workload';

/** Runs the phases `options.only` names and writes the results; resolves with the exit code. */
export async function runBench(options: BenchOptions, start: RunStart): Promise<number> {
  const results: BenchResults = {
    date: start.date,
    startedAt: start.startedAt,
    options,
    machine: {
      ...machineFacts(),
      redis: '',
    },
    load: { start: start.load, end: [], uptimeStart: start.uptime, uptimeEnd: '' },
    settings: {},
    memory: [],
  };

  const { plain, mapped, outputTables } = benchCollections();
  const stack = benchStack('spillway-bench-', options.database, [plain, mapped]);
  const ids = makeIds(options.ids);
  const docs = makeDocuments(seededRandom(options.seed), options.docPool);
  const recordMemory = (phase: string, sinksMb: (number | null)[] = [], other = ''): void => {
    results.memory.push({ phase, ingestMb: mb(stack.ingest?.rssBytes()), sinksMb, other });
  };
  try {
    say(`starting Redis, ${options.database} and ingest in ${stack.dir}`);
    await stack.start();
    const database = new BenchDatabase(stack.databaseReader);
    await database.waitForTables(['spillway_tombstones', COLLECTION, MAPPED_COLLECTION, ...outputTables]);
    await database.prepareStats();
    const [firstSink] = stack.sinks;
    if (firstSink) await stack.removeSink(firstSink);
    const redis = defineSpillwayScripts(stack.redisClient);
    // Big backlogs go through the AOF several times over; a rewrite in the middle of a measurement is noise.
    await redis.config('SET', 'auto-aof-rewrite-percentage', '0');
    results.machine.redis = String(/redis_version:(\S+)/.exec(await redis.info('server'))?.[1]);
    results.machine[options.database] = await database.version();
    results.settings = {
      redis: 'appendonly yes, appendfsync everysec, noeviction, auto-aof-rewrite-percentage 0 (set by the bench)',
      [options.database]: await database.settings(),
      sink: 'defaults (SINK_BATCH_SIZE 500, SINK_BLOCK_MS 1000)',
      ingest: 'defaults, INGEST_MAX_BACKLOG 1e9 so the ingest phase never answers 429',
    };
    say(`seeding ${ids.length} documents`);
    await seedDocuments(redis, ids, docs);
    await redis.del(KEYS.stream);
    const common: PhaseInputs = { ids, docs, seed: options.seed, say };
    const stackInputs = { ...common, stack, database };

    if (options.only.includes(1)) {
      say('phase 1: raw limits');
      const redisRaw = await rawRedis({
        ...common,
        redisUrl: stack.redisUrl,
        durationMs: options.redisDurationMs,
        concurrency: options.redisConcurrency,
        batchSize: options.batchSize,
        batchesInFlight: options.redisBatchesInFlight,
      });
      const rawDatabase = {
        ...common,
        databaseUrl: stack.databaseUrl,
        rows: options.dbRows,
        batchSize: options.batchSize,
        connections: options.dbConnections,
      };
      results.raw =
        options.database === 'mariadb'
          ? { redis: redisRaw, mariadb: await rawMariadb({ ...rawDatabase, likeTable: COLLECTION }) }
          : { redis: redisRaw, postgres: await rawPostgres(rawDatabase) };
      recordMemory('1 raw');
    }
    if (options.only.includes(2)) {
      say('phase 2: ingest');
      const ingest = await ingestPhase({
        ...stackInputs,
        durationS: options.ingestDurationS,
        warmupS: options.warmupS,
        connections: options.putConnections,
        bulkConnections: options.bulkConnections,
        bulkOps: options.bulkOps,
      });
      results.ingest = ingest;
      recordMemory('2 ingest', [], `bare Fastify ${mb(ingest.rss.bare)}`);
    }
    if (options.only.includes(3)) {
      say(`phase 3: sink drain of ${options.entries} entries`);
      const sink = await sinkPhase({
        ...stackInputs,
        entries: options.entries,
        hotEntries: options.entries,
        replicaCounts: options.replicaCounts,
        rounds: options.sinkRounds,
        hotReplicas: options.hotReplicas,
        timeoutMs: options.drainTimeoutMs,
      });
      results.sink = sink;
      for (const run of sink.runs) {
        recordMemory(`3 sink, ${drainName(run, options.sinkRounds)}, after the drain`, run.rssSinks.map(mb));
      }
    }
    // Right after phase 3, so that the machine's drift comes between the two drains it compares as little as can be.
    if (options.only.includes(6)) {
      say(`phase 6: mapped drain of ${options.mappedEntries} entries (outputs ${outputTables.join(', ')})`);
      const mappedResult = await mappedPhase({
        ...stackInputs,
        entries: options.mappedEntries,
        plainEntries: options.entries,
        replicas: options.mappedReplicas,
        rounds: options.mappedRounds,
        timeoutMs: options.drainTimeoutMs,
        outputTables,
      });
      results.mapped = mappedResult;
      for (const run of [...mappedResult.control.runs, ...mappedResult.runs]) {
        recordMemory(`6 mapped, ${drainName(run, options.mappedRounds)}, after the drain`, run.rssSinks.map(mb));
      }
    }
    if (options.only.includes(4)) {
      const max = results.ingest?.put.requestsPerSec ?? (await probeMax(stack, common, options));
      const rate = Math.max(1, Math.floor((max ?? 0) / 2));
      say(`phase 4: end to end at ${rate} req/s (half of ${max}) for ${options.e2eDurationS} s`);
      const e2e = await e2ePhase({
        ...stackInputs,
        rate,
        durationS: options.e2eDurationS,
        connections: options.e2eConnections,
        replicas: options.e2eReplicas,
      });
      e2e.maxRateUsed = max;
      results.e2e = e2e;
      recordMemory('4 e2e', e2e.rss.sinks.map(mb));
    }
  } finally {
    results.unexpectedExits = reportUnexpectedExits([stack.ingest, ...stack.allSinks]);
    await stack.stop();
  }
  recordRunEnd(results, start);
  results.targets = judgeTargets(results);

  const suffix =
    (options.database === 'postgres' ? '' : `-${options.database}`) +
    (options.quick ? '-quick' : options.partial ? '-partial' : '');
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

/** The members of config/collections/sessions.yaml the bench reads. */
interface SessionsFile {
  schema?: object;
  transform?: unknown[];
  output?: { with?: { table?: string } }[];
  [member: string]: unknown;
}

/**
 * The bench's two collections, both from the shipped config/collections/sessions.yaml: `sessions` without its
 * transform and outputs (a state table only, the plain drain and every other phase), and `sessions_mapped` with them
 * and a state table of its own (the mapped drain); and the output tables the file names.
 */
export function benchCollections(): { plain: CollectionSpec; mapped: CollectionSpec; outputTables: string[] } {
  const file = parseYaml(readFileSync(join(ROOT, 'config', 'collections', 'sessions.yaml'), 'utf8')) as SessionsFile;
  const { name: _name, kind: _kind, schema, transform, output, ...rest } = file;
  const outputTables = (output ?? []).flatMap((o) => (o.with?.table ? [o.with.table] : []));

  return {
    plain: { name: COLLECTION, kind: 'document', schema, extra: { ...rest, table: COLLECTION } },
    mapped: {
      name: MAPPED_COLLECTION,
      kind: 'document',
      schema,
      extra: { ...rest, table: MAPPED_COLLECTION, transform, output },
    },
    outputTables,
  };
}

/** The maximum PUT rate, when phase 2 did not run: a short all-out autocannon run against ingest. */
async function probeMax(stack: Stack, common: PhaseInputs, options: BenchOptions): Promise<number | null> {
  const probe = await runLoad(
    putRequests(stack.ingestApp.url, {
      ...common,
      collection: 'sessions',
      connections: options.putConnections,
      durationS: 5,
    }),
  );
  await stack.redisClient.del(KEYS.stream);
  say(`probe: ${probe.requestsPerSec} PUT req/s`);

  return probe.requestsPerSec;
}
