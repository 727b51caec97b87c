// One chaos run: a stack of its own, seeded traffic and seeded faults at once, then a drain and the verdict.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Durability, type PartitionedCollection, partitioned } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import { type DatabaseKind, Stack } from '../local-stack';
import { mulberry32 } from '../shared/random';
import { checkConvergence, type Verdict } from './check';
import type { MasterKill } from './failover-losses';
import { type FaultKind, type FaultRecord, REDIS_KIND_LABELS, redisKindOf, startFaults } from './faults';
import { Ledger } from './ledger';
import { injectPoison, type Poison } from './poison';
import { startTraffic, TrafficStats } from './workload';

export const DOCS = 'chaos_docs';
export const EVENTS = 'chaos_events';
const SAMPLE_EVERY_MS = 1000;
/** Partitions of each collection on a Redis Cluster, unless told otherwise. */
export const CLUSTER_PARTITIONS = 8;

/** The load of one run: seeded traffic, and the faults and poison entries to inject meanwhile. */
export interface LoadOptions {
  seed: number;
  /** seconds */
  duration: number;
  clients: number;
  ids: number;
  /** requests per second at most; default as fast as answered */
  rate?: number;
  faults: readonly FaultKind[];
  poison: number;
  claimIdleMs: number;
  /** go on after `duration` until every kind of the current fault round has come */
  finishFaultRound?: boolean;
  /** on a cluster, every other master kill cuts its replica off 300 ms before (see cluster-faults.ts) */
  replicaLag?: boolean;
  /** the `Durability` header every write sends; none by default (the server's default level) */
  durability?: Durability;
}

/** Where the run's Redis is and how its collections are cut. */
export interface RedisLayout {
  /** run on a local Redis Cluster of 3 masters and 3 replicas instead of one redis-server */
  cluster?: boolean;
  /** run on a master and its replica watched by 3 Sentinels instead of one redis-server */
  sentinel?: boolean;
  /** each collection's `partitions:`; default 1 on one server, CLUSTER_PARTITIONS on a cluster */
  partitions?: number;
}

export interface ChaosOptions extends LoadOptions, RedisLayout {
  /** the database the sinks write to; default 'postgres' */
  database?: DatabaseKind;
  replicas: number;
  drainTimeoutMs: number;
  keep?: boolean;
  dir?: string;
  onProgress?: (line: string) => void;
}

/** What a run records as it goes: the acknowledged writes, the answers, and where to say what happens. */
export interface RunRecord {
  ledger: Ledger;
  stats: TrafficStats;
  say: (line: string) => void;
}

/** RSS of ingest and each running sink, in MB (undefined when a process is not running). */
export interface Memory {
  ingest: number | undefined;
  sinks: Record<string, number | undefined>;
}

export interface Sample {
  /** seconds since the load started */
  t: number;
  /** entries not yet acked, all collections; -1 when Redis did not answer */
  backlog: number;
  ingestMb?: number;
  sinkMb?: number;
}

export interface TrafficSummary {
  requests: number;
  byKind: Record<string, Record<string, number>>;
  acknowledgedDocumentWrites: number;
  acknowledgedEvents: number;
  /** acknowledgements by the durability level their answer named (`memory` when it named none) */
  acknowledgedByLevel: Record<string, number>;
}

/** The report of a chaos run, and of a soak, which adds its rates to it. */
export interface ChaosReport {
  seed: number;
  replay: string;
  options: object;
  sentMs: number;
  drainMs: number;
  traffic: TrafficSummary;
  faults: { injected: Partial<Record<FaultKind, number>>; timeline: FaultRecord[] };
  poison: Poison[];
  verdict: Verdict;
  memory: { start: Memory; loadEnd: Memory; end: Memory };
  backlog: { max: number; samples: Sample[] };
  failures: string[];
  /** the last lines each app printed, when the run failed */
  appOutput?: string;
  passed: boolean;
}

const mb = (bytes: number | undefined): number | undefined =>
  bytes === undefined ? undefined : Math.round((bytes / 1048576) * 10) / 10;

export function memory(stack: Stack<RedisClient>): Memory {
  return {
    ingest: mb(stack.ingest?.rssBytes()),
    sinks: Object.fromEntries(stack.sinks.map((s) => [s.name, mb(s.rssBytes())])),
  };
}

/** A collection of the run's stack, by name, with its partition count. */
export const collectionOf = (stack: Stack<RedisClient>, name: string): PartitionedCollection =>
  partitioned(stack.collections.find((c) => c.name === name) ?? { name });

/**
 * The stack a chaos or soak run drives: Redis (one server, a Redis Cluster of 3 masters and 3 replicas, or a master and
 * its replica behind 3 Sentinels) with
 * appendfsync always (or `redisFsync`), PostgreSQL or MariaDB, one document and one event collection.
 */
export function chaosStack(
  options: RedisLayout & {
    dir?: string;
    database?: DatabaseKind;
    replicas: number;
    claimIdleMs: number;
    redisFsync?: 'always' | 'everysec';
  },
): Stack<RedisClient> {
  const partitions = options.partitions ?? (options.cluster ? CLUSTER_PARTITIONS : undefined);
  const partitioning = partitions === undefined ? {} : { partitions };

  return new Stack<RedisClient>({
    dir: options.dir ?? mkdtempSync(join(tmpdir(), 'spillway-chaos-')),
    database: options.database,
    replicas: options.replicas,
    redisFsync: options.redisFsync ?? 'always',
    redisCluster: options.cluster ? {} : undefined,
    redisSentinel: options.sentinel ? {} : undefined,
    // PostgreSQL: no fsync (a process crash loses nothing fsync would keep) and, as some servers run, asynchronous
    // commits by default: the sink must turn synchronous commits on for its own sessions, and the pg-stop faults
    // check it. MariaDB: the redo log written at each commit and flushed once a second, which a mariadbd crash
    // loses nothing of.
    databaseDurable: false,
    collections: [
      { name: DOCS, kind: 'document', schema: { type: 'object', required: ['owner'] }, ...partitioning },
      { name: EVENTS, kind: 'event', ...partitioning },
    ],
    sinkEnv: {
      SINK_CLAIM_IDLE_MS: String(options.claimIdleMs),
      SINK_BLOCK_MS: '500',
      SINK_SHUTDOWN_MS: '8000',
      // Many partitions leased over the sinks: a killed sink's leases lapse in 3 s rather than 10.
      ...(options.cluster ? { SINK_LEASE_TTL_MS: '3000' } : {}),
    },
  });
}

export interface LoadResult {
  sentMs: number;
  samples: Sample[];
  poison: Poison[];
  faults: ChaosReport['faults'];
}

/**
 * Traffic (and faults, and poison, when asked) for `duration` seconds, sampling backlog and memory every second.
 * Returns once the faults have stopped with the stack whole and every request has its answer.
 */
export async function runLoad(
  stack: Stack<RedisClient>,
  { ledger, stats, say }: RunRecord,
  options: LoadOptions,
): Promise<LoadResult> {
  const samples: Sample[] = [];
  const startedAt = Date.now();
  const traffic = startTraffic({
    url: stack.ingestUrl,
    ledger,
    stats,
    options: {
      seed: options.seed,
      ids: options.ids,
      concurrency: options.clients,
      rate: options.rate,
      docs: DOCS,
      events: EVENTS,
      durability: options.durability,
    },
  });
  const faults = options.faults.length
    ? startFaults({
        stack,
        ledger,
        seed: options.seed,
        kinds: options.faults,
        claimIdleMs: options.claimIdleMs,
        docs: DOCS,
        startedAt,
        replicaLag: options.replicaLag,
      })
    : undefined;
  const random = mulberry32(options.seed ^ 0xbad);
  const poisonAt = Array.from({ length: options.poison }, () => startedAt + random() * options.duration * 1000).sort(
    (a, b) => a - b,
  );
  const poison: Poison[] = [];
  const injectOne = () => injectPoison(stack.redisClient, collectionOf(stack, DOCS), poison.length, stack.databaseKind);
  // With replicas the run's own entries are on them before the next fault, so no master kill loses one.
  const injectDurably = async (): Promise<Poison> => {
    const entry = await injectOne();
    await (stack.isCluster ? stack.redisClusterHandle : stack.redisSentinelHandle).waitForReplication();

    return entry;
  };
  const replicated = stack.isCluster || stack.isSentinel;
  let faultsShown = 0;
  const showFaults = (): void => {
    for (const fault of faults?.timeline.slice(faultsShown) ?? []) say(`  ${fault.at}s ${fault.kind}: ${fault.detail}`);
    faultsShown = faults?.timeline.length ?? 0;
  };
  while (Date.now() - startedAt < options.duration * 1000) {
    await sleep(SAMPLE_EVERY_MS);
    while (poisonAt.length > 0 && (poisonAt[0] ?? Infinity) <= Date.now()) {
      poisonAt.shift();
      poison.push(await (replicated ? (faults?.exclusive(injectDurably) ?? injectDurably()) : injectOne()));
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

  return {
    sentMs: Date.now() - startedAt,
    samples,
    poison,
    faults: { injected: faults?.injected ?? {}, timeline: faults?.timeline ?? [] },
  };
}

/** The master kills of a fault timeline, with what each may have lost (see check.ts). */
export const masterKillsOf = (timeline: readonly FaultRecord[]): MasterKill[] =>
  timeline.flatMap(({ at, kind, partitions = [], lossWindow }) =>
    lossWindow ? [{ fault: `${at} s ${kind}`, partitions, ...lossWindow }] : [],
  );

/** After the load: drain, check, and list what failed. */
export async function drainAndVerify(
  stack: Stack<RedisClient>,
  { ledger, stats }: Pick<RunRecord, 'ledger' | 'stats'>,
  poison: readonly Poison[],
  drainTimeoutMs: number,
  timeline: readonly FaultRecord[] = [],
): Promise<{ drainMs: number; verdict: Verdict; failures: string[] }> {
  const drainMs = await stack.waitDrained(drainTimeoutMs);
  const verdict = await checkConvergence({
    redis: stack.redisClient,
    database: stack.databaseReader,
    ledger,
    docs: collectionOf(stack, DOCS),
    events: collectionOf(stack, EVENTS),
    poison,
    masterKills: masterKillsOf(timeline),
  });
  const unexpectedExits = stack.unexpectedExits();
  const apps = [stack.ingestApp, ...stack.sinks];
  const ready = await Promise.all(
    apps.map((app) =>
      app.waitUntilReady(10_000).then(
        () => true,
        () => false,
      ),
    ),
  );
  const failures = [
    ...(verdict.mismatches > 0 ? [`${verdict.mismatches} mismatches`] : []),
    ...stats.violations.map((v) => `answer outside the contract: ${v}`),
    ...unexpectedExits.map((e) => `${e.name} exited on its own (${e.signal ?? `code ${e.code}`}) at ${e.at}`),
    ...(ready.every(Boolean) ? [] : ['not every process is ready at the end']),
  ];

  return { drainMs, verdict, failures };
}

/** The last lines each app printed, for an error report. */
export function appOutputTails(stack: Stack<RedisClient>): string {
  return [stack.ingest, ...stack.allSinks]
    .filter((app) => app !== undefined)
    .map((app) => `--- ${app.name}\n${app.output.slice(-15).join('\n')}`)
    .join('\n');
}

export function trafficSummary({ ledger, stats }: Pick<RunRecord, 'ledger' | 'stats'>): TrafficSummary {
  return {
    requests: stats.requests,
    byKind: stats.byKind,
    acknowledgedDocumentWrites: ledger.ackedDocumentWrites,
    acknowledgedEvents: ledger.events.size,
    acknowledgedByLevel: { ...ledger.acksByLevel },
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const say = options.onProgress ?? (() => undefined);
  const stack = chaosStack(options);
  const record: RunRecord = { ledger: new Ledger(), stats: new TrafficStats(), say };
  try {
    const redis = REDIS_KIND_LABELS[redisKindOf(stack)];
    const partitions = collectionOf(stack, DOCS).partitions;
    say(`starting ${redis}, ${stack.databaseKind}, ingest and ${options.replicas} sinks in ${stack.dir}`);
    if (partitions > 1) say(`each collection has ${partitions} partitions`);
    await stack.start();
    const memoryAtStart = memory(stack);
    const faultList = options.faults.length ? options.faults.join(', ') : 'no faults';
    say(`running ${options.duration} s: ${options.clients} clients, ${faultList}`);
    const load = await runLoad(stack, record, options);
    const memoryAtLoadEnd = memory(stack);
    say('waiting for the backlog to drain');
    const { drainMs, verdict, failures } = await drainAndVerify(
      stack,
      record,
      load.poison,
      options.drainTimeoutMs,
      load.faults.timeline,
    );
    const layout =
      (options.cluster
        ? `--cluster ${partitions === CLUSTER_PARTITIONS ? '' : `--partitions ${partitions} `}`
        : partitions > 1
          ? `--partitions ${partitions} `
          : '') +
      (options.sentinel ? '--sentinel ' : '') +
      (options.durability ? `--durability ${options.durability} ` : '');
    const flags =
      layout +
      `${stack.databaseKind === 'postgres' ? '' : `--db ${stack.databaseKind} `}` +
      `--seed ${options.seed} --duration ${options.duration} --replicas ${options.replicas} ` +
      `--clients ${options.clients} --ids ${options.ids}`;

    return {
      seed: options.seed,
      replay:
        `npm run chaos -- ${flags}${options.faults.length ? '' : ' --faults none'}` +
        (options.finishFaultRound ? ' --finish-round' : '') +
        (options.replicaLag ? ' --replica-lag' : ''),
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
      ...(failures.length ? { appOutput: appOutputTails(stack) } : {}),
      passed: failures.length === 0,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n${appOutputTails(stack)}`, { cause: error });
  } finally {
    await stack.stop({ keep: options.keep });
  }
}
