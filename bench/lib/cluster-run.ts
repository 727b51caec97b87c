// `npm run bench -- --cluster` (issue 17): one run on a local Redis Cluster of 3 masters and 3 replicas beside one
// redis-server, with one durable PostgreSQL. In turn: the raw Redis write rate of the one server and of the masters,
// PostgreSQL's raw upsert rate, ingest's PUT and _bulk on each (a collection of 8 partitions; an ingest process for
// each Redis), and the drain matrix on the cluster; then the unit costs, the model, and the results written as
// bench/results/<date>-cluster.json and .md. Loaded by bench/main.ts once the apps are built and the Lua generated.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { PartitionedCollection } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import {
  AppProcess,
  type CollectionSpec,
  LOOPBACK_HOST,
  type RedisServer,
  Stack,
  startRedis,
  stopAllOnSignals,
} from '../../tools/local-stack';
import { reportUnexpectedExits } from './app-exits';
import { BenchDatabase } from './bench-database';
import { type CpuSources, partsSince, partsSnapshot, pidsCpuSeconds } from './cluster-cpu';
import { drainMatrix } from './cluster-drain';
import { clusterIngest } from './cluster-ingest';
import { modelTables } from './cluster-model';
import { rawWrites } from './cluster-raw';
import { clusterMarkdown } from './cluster-report';
import { type ClusterBenchResults, clusterSettings, unitCosts } from './cluster-results';
import { clusterTarget, type RedisTarget, singleServerTarget } from './cluster-targets';
import { databaseCpuSeconds, processCpuSeconds } from './cpu';
import { machineFacts, recordRunEnd, type RunStart } from './host';
import { say } from './log';
import type { BenchOptions } from './options';
import type { PhaseInputs } from './phase';
import { rawPostgres } from './raw-pg';
import { COLLECTION } from './redis-writes';
import { benchCollections } from './run';
import { makeDocuments, makeIds, seededRandom } from './workload';

/** The drain matrix's collection of `partitions` partitions (its table has the same name). */
const drainCollectionName = (partitions: number): string => `${COLLECTION}_p${partitions}`;

/** Runs the cluster bench and writes its results; resolves with the exit code. */
export async function runClusterBench(options: BenchOptions, start: RunStart): Promise<number> {
  const settings = clusterSettings(options);
  const ingestCollection: PartitionedCollection = { name: COLLECTION, partitions: settings.ingestPartitions };
  const drainCollections: PartitionedCollection[] = settings.partitionCounts.map((partitions) => ({
    name: drainCollectionName(partitions),
    partitions,
  }));
  const { plain } = benchCollections();
  const specs: CollectionSpec[] = [ingestCollection, ...drainCollections].map(({ name, partitions }) => ({
    name,
    kind: 'document',
    schema: plain.schema,
    partitions,
    extra: { ...plain.extra, table: name },
  }));
  const dir = mkdtempSync(join(tmpdir(), 'spillway-bench-cluster-'));
  const ingestEnv = { INGEST_MAX_BACKLOG: String(1_000_000_000) };
  const stack = new Stack<RedisClient>({
    dir,
    replicas: 1, // creates the tables and runs the migrations; removed before the first run
    collections: specs,
    redisFsync: 'everysec',
    database: 'postgres',
    databaseDurable: true,
    redisCluster: { masters: settings.masters, replicasPerMaster: settings.replicasPerMaster },
    ingestEnv,
    sinkEnv: { SINK_LEASE_TTL_MS: String(settings.leaseTtlMs) },
  });
  let singleIngest: AppProcess | undefined;
  let singleClient: Redis | undefined;
  stopAllOnSignals(() => {
    for (const app of [stack.ingest, singleIngest, ...stack.allSinks]) app?.signal('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const results: ClusterBenchResults = {
    kind: 'cluster',
    date: start.date,
    startedAt: start.startedAt,
    options,
    settings,
    machine: {
      ...machineFacts(),
      redis: '',
      postgres: '',
    },
    load: { start: start.load, end: [], uptimeStart: start.uptime, uptimeEnd: '' },
    masters: [],
  };
  const common: PhaseInputs = {
    ids: makeIds(options.ids),
    docs: makeDocuments(seededRandom(options.seed), options.docPool),
    seed: options.seed,
    say,
  };
  try {
    say(
      `starting a Redis Cluster of ${settings.masters} masters and their replicas, one redis-server, PostgreSQL and ingest in ${dir}`,
    );
    const [single] = await Promise.all([
      startRedis({ dir: join(dir, 'redis-single'), appendOnly: true, appendFsync: 'everysec' }),
      stack.start(),
    ]);
    const database = new BenchDatabase(stack.databaseReader);
    await database.waitForTables(['spillway_tombstones', ...specs.map((spec) => spec.name)]);
    await database.prepareStats();
    const [firstSink] = stack.sinks;
    if (firstSink) await stack.removeSink(firstSink);
    singleIngest = new AppProcess('ingest-1-server', 'ingest', {
      LOG_LEVEL: 'warn',
      REDIS_URL: single.url,
      DATABASE_URL: stack.databaseUrl,
      COLLECTIONS_DIR: join(dir, 'collections'),
      ...ingestEnv,
    });
    await singleIngest.start();
    await singleIngest.waitUntilReady();
    singleClient = new Redis(single.url, { protocol: 2, maxRetriesPerRequest: null });
    const cluster = stack.redisClusterHandle;
    const topology = await cluster.topology();
    const pidsOf = (role: 'master' | 'replica'): (() => number) => {
      const ports = new Set(topology.filter((view) => view.role === role).map((view) => view.port));
      const servers = cluster.nodes.filter((node) => ports.has(node.port)).map((node) => node.server);

      return () => pidsCpuSeconds(servers.map((server) => server.pid));
    };
    const sources: CpuSources = {
      ingest: () => pidsCpuSeconds([stack.ingest?.pid, singleIngest?.pid]),
      sinks: () => pidsCpuSeconds(stack.sinks.map((sink) => sink.pid)),
      redisMasters: pidsOf('master'),
      redisReplicas: pidsOf('replica'),
      redisSingle: () => processCpuSeconds(single.pid),
      database: () => databaseCpuSeconds(stack),
      bench: () => processCpuSeconds(process.pid),
    };
    const probe = () => partsSnapshot(sources);
    await quietAofRewrites(
      single,
      cluster.nodes.map((node) => node.port),
    );
    results.machine.redis = String(/redis_version:(\S+)/.exec(await singleClient.info('server'))?.[1]);
    results.machine.postgres = await database.version();
    const targets: RedisTarget[] = [
      singleServerTarget(single, singleClient, singleIngest),
      await clusterTarget(cluster, stack.redisClient, stack.ingestApp),
    ];
    const [, clusterSide] = targets as [RedisTarget, RedisTarget];
    results.masters = clusterSide.servers;
    const runStart = probe();
    say(`idle baseline, ${settings.idleMs} ms`);
    await sleep(settings.idleMs);
    results.idle = partsSince(runStart, probe());

    say('raw ceilings');
    const redisRaw = [];
    for (const target of targets) {
      redisRaw.push(
        ...(await rawWrites({
          ...common,
          target,
          probe,
          durationMs: settings.rawDurationMs,
          batchSize: settings.rawBatchSize,
          inFlight: settings.rawInFlight,
        })),
      );
    }
    const pgBefore = probe();
    const postgres = await rawPostgres({
      ...common,
      databaseUrl: stack.databaseUrl,
      rows: settings.databaseRows,
      batchSize: 500,
      connections: [1, 2],
    });
    results.raw = { redis: redisRaw, postgres, postgresCpu: partsSince(pgBefore, probe()) };

    say('ingest');
    results.ingest = [];
    for (const target of targets) {
      results.ingest.push(
        ...(await clusterIngest({
          ...common,
          target,
          collection: ingestCollection,
          probe,
          durationS: settings.ingestDurationS,
          warmupS: settings.warmupS,
          putConnections: settings.putConnections,
          bulkConnections: settings.bulkConnections,
          bulkOps: settings.bulkOps,
        })),
      );
    }

    say(`drain matrix: ${settings.sinkCounts.join(', ')} sinks over ${settings.partitionCounts.join(', ')} partitions`);
    results.drain = await drainMatrix({
      ...common,
      stack,
      database,
      redis: clusterSide.client,
      servers: clusterSide.servers,
      probe,
      collections: drainCollections,
      idleCollections: [ingestCollection],
      sinkCounts: settings.sinkCounts,
      entries: settings.entries,
      warmUpEntries: settings.warmUpEntries,
      timeoutMs: settings.drainTimeoutMs,
    });
    results.cpu = partsSince(runStart, probe());
  } finally {
    results.unexpectedExits = reportUnexpectedExits([stack.ingest, singleIngest, ...stack.allSinks]);
    await singleIngest?.terminate();
    singleClient?.disconnect();
    await stack.stop(); // the one redis-server too: every local server is tracked
  }
  results.costs = unitCosts(results);
  if (results.costs) results.model = modelTables(results.costs);
  recordRunEnd(results, start);

  const suffix = `-cluster${options.quick ? '-quick' : options.partial ? '-partial' : ''}`;
  const base = join(options.out, `${results.date}${suffix}`);
  mkdirSync(options.out, { recursive: true });
  const table = clusterMarkdown(results);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, table);
  say(results.load.uptimeEnd);
  say(`wrote ${base}.json, .md`);
  process.stdout.write(`\n${table}`);

  return results.unexpectedExits?.length ? 1 : 0;
}

/** Big backlogs go through the AOF several times over; a rewrite in the middle of a measurement is noise. */
async function quietAofRewrites(single: RedisServer, clusterPorts: number[]): Promise<void> {
  for (const port of [single.port, ...clusterPorts]) {
    const client = new Redis({ host: LOOPBACK_HOST, port, protocol: 2 });
    try {
      await client.config('SET', 'auto-aof-rewrite-percentage', '0');
    } finally {
      client.disconnect();
    }
  }
}
