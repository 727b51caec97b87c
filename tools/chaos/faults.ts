// Faults on a seeded schedule, one at a time: each kind comes once per round, in a seeded order, with seeded
// pauses, and every fault ends with the stack whole again (servers up, the replica count restored).
import { setTimeout as sleep } from 'node:timers/promises';
import { allPartitions, DEFAULT_SINK_GROUP, partitioned } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import type { DatabaseKind, DatabaseStopMode, Stack } from '../local-stack';
import { mulberry32 } from '../shared/random';
import { CLUSTER_FAULTS, clusterFaults } from './cluster-faults';
import type { FaultOutcome } from './fault-outcome';
import type { Ledger } from './ledger';
import { SENTINEL_FAULTS, sentinelFaults } from './sentinel-faults';

/** Each database's faults: PostgreSQL's fast and immediate shutdowns, MariaDB's `mariadb-admin shutdown` and kill. */
const DATABASE_FAULTS = {
  postgres: ['pg-stop-fast', 'pg-stop-immediate'],
  mariadb: ['mariadb-shutdown', 'mariadb-kill'],
} as const satisfies Record<DatabaseKind, readonly string[]>;

/** What runs Redis: one server, a Redis Cluster, or a master and its replica watched by Sentinels. */
export type RedisKind = 'server' | 'cluster' | 'sentinel';

/**
 * Each Redis kind's faults: one server's SIGKILL and restart on its AOF; a cluster's failovers (graceful, and a
 * master's SIGKILL) and resharding (cluster-faults.ts); Sentinel's failover after the master's SIGKILL
 * (sentinel-faults.ts). A cluster or a Sentinel setup has no single server to restart on its AOF: its crash is the
 * master kill, after which a replica serves.
 */
const REDIS_FAULTS = {
  server: ['redis-crash'],
  cluster: CLUSTER_FAULTS,
  sentinel: SENTINEL_FAULTS,
} as const satisfies Record<RedisKind, readonly string[]>;

const APP_FAULTS_BEFORE = ['sink-kill', 'sink-kill-all', 'sink-freeze'] as const;
const APP_FAULTS_AFTER = ['sink-scale', 'ingest-kill'] as const;

/** Every fault kind of every database and Redis kind. */
export const FAULT_KINDS = [
  ...APP_FAULTS_BEFORE,
  ...DATABASE_FAULTS.postgres,
  ...DATABASE_FAULTS.mariadb,
  ...REDIS_FAULTS.server,
  ...REDIS_FAULTS.cluster,
  ...REDIS_FAULTS.sentinel,
  ...APP_FAULTS_AFTER,
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** The fault kinds a run on `database` and `redis` (default one server) can inject, in the order that seeds the schedule. */
export const faultKindsFor = (database: DatabaseKind, redis: RedisKind = 'server'): FaultKind[] => [
  ...APP_FAULTS_BEFORE,
  ...DATABASE_FAULTS[database],
  ...REDIS_FAULTS[redis],
  ...APP_FAULTS_AFTER,
];

export const isFaultKind = (kind: string): kind is FaultKind => (FAULT_KINDS as readonly string[]).includes(kind);

/** What runs the Redis of `stack`. */
export const redisKindOf = (stack: Stack<RedisClient>): RedisKind =>
  stack.isCluster ? 'cluster' : stack.isSentinel ? 'sentinel' : 'server';

/** How a report names a Redis kind. */
export const REDIS_KIND_LABELS: Record<RedisKind, string> = {
  server: 'one redis-server',
  cluster: 'a Redis Cluster (3 masters, 3 replicas)',
  sentinel: 'Redis Sentinel (a master, its replica, 3 Sentinels)',
};

export interface FaultRecord extends FaultOutcome {
  /** seconds since the run started */
  at: number;
  kind: FaultKind;
  ms: number;
}

export interface Faults {
  timeline: FaultRecord[];
  injected: Partial<Record<FaultKind, number>>;
  /**
   * Stops after the fault in progress, which leaves the stack whole; with `round`, only once every kind of
   * the current round has come (so a short run still sees each kind).
   */
  stop(options?: { round?: boolean }): Promise<void>;
  /** Runs `task` between two faults (a fault due meanwhile waits for it). */
  exclusive<T>(task: () => Promise<T>): Promise<T>;
}

export function startFaults({
  stack,
  ledger,
  seed,
  kinds,
  claimIdleMs,
  docs,
  startedAt,
  replicaLag,
}: {
  stack: Stack<RedisClient>;
  /** the run's ledger, which a master kill marks (see LossWindow) */
  ledger: Ledger;
  seed: number;
  kinds: readonly FaultKind[];
  claimIdleMs: number;
  docs: string;
  startedAt: number;
  /** see clusterFaults() */
  replicaLag?: boolean;
}): Faults {
  const redisKind = redisKindOf(stack);
  const foreign = kinds.filter((kind) => !faultKindsFor(stack.databaseKind, redisKind).includes(kind));
  if (foreign.length > 0) {
    throw new Error(`faults ${foreign.join(', ')} do not apply to ${stack.databaseKind} on a Redis ${redisKind}`);
  }
  const random = mulberry32(seed ^ 0x5eed);
  const between = (min: number, max: number): number => Math.round(min + random() * (max - min));
  const pickRunning = () => {
    const running = stack.sinks.filter((s) => s.running);

    return running[Math.floor(random() * running.length)];
  };
  const timeline: FaultRecord[] = [];
  const injected: Partial<Record<FaultKind, number>> = {};
  let running = true;

  /** Stops the database (`what` says how, for the timeline), waits 1 to 5 s, starts it again. */
  const restartDatabase = async (mode: DatabaseStopMode, what: string): Promise<string> => {
    const database = stack.databaseHandle;
    await database.stop(mode);
    const pause = between(1000, 5000);
    await sleep(pause);
    await database.start();

    return `${what}, restarted after ${pause} ms`;
  };

  /** Entries `consumer` holds pending, over every partition of the document collection. */
  const heldBy = async (consumer: string): Promise<number> => {
    const redis = stack.redisClient;
    const spec = stack.collections.find((c) => c.name === docs) ?? { name: docs };
    let held = 0;
    for (const { stream } of allPartitions(partitioned(spec))) {
      const summary = await redis.xpending(stream, DEFAULT_SINK_GROUP).catch((): unknown[] => []);
      const consumers = (summary[3] ?? []) as [string, string][];
      held += Number(consumers.find((r) => r[0] === consumer)?.[1] ?? 0);
    }

    return held;
  };

  const faults: Record<FaultKind, () => Promise<string | FaultOutcome>> = {
    ...clusterFaults({ stack, ledger, random, replicaLag }),
    ...sentinelFaults({ stack, ledger, random, replicaLag }),
    async 'sink-kill'() {
      const victim = pickRunning();
      if (!victim) return 'no sink running';
      await victim.kill();
      const pause = between(200, 4000);
      await sleep(pause);
      // A StatefulSet pod comes back under its name and drains its own pending entries; a Deployment pod comes
      // back under a new one, and the others must reclaim what the dead one held.
      if (random() < 0.5) {
        await victim.start();

        return `${victim.name} SIGKILL, back under its name after ${pause} ms`;
      }
      stack.sinks = stack.sinks.filter((s) => s !== victim);
      const replacement = await stack.addSink();

      return `${victim.name} SIGKILL, replaced by ${replacement.name} after ${pause} ms`;
    },

    async 'sink-kill-all'() {
      const victims = stack.sinks.filter((s) => s.running);
      await Promise.all(victims.map((s) => s.kill()));
      const pause = between(500, 4000);
      await sleep(pause);
      await Promise.all(victims.map((s) => s.start()));

      return `${victims.length} sinks SIGKILL at once, back after ${pause} ms`;
    },

    async 'sink-freeze'() {
      const zombie = pickRunning();
      if (!zombie) return 'no sink running';
      zombie.signal('SIGSTOP');
      const held = await heldBy(zombie.name);
      const pause = Math.round(claimIdleMs * (1.5 + random()));
      await sleep(pause);
      zombie.signal('SIGCONT');

      return `${zombie.name} SIGSTOP for ${pause} ms (claim idle ${claimIdleMs} ms) holding ${held} entries`;
    },

    'pg-stop-fast': () => restartDatabase('clean', 'fast shutdown'),
    'pg-stop-immediate': () => restartDatabase('crash', 'immediate shutdown'),
    'mariadb-shutdown': () => restartDatabase('clean', 'mariadb-admin shutdown'),
    'mariadb-kill': () => restartDatabase('crash', 'SIGKILL'),

    async 'redis-crash'() {
      await stack.crashRedis(); // throws when there is no Redis server to crash
      const pause = between(500, 3000);
      await sleep(pause);
      await stack.redisServer?.start();

      return `SIGKILL, restarted on its AOF after ${pause} ms`;
    },

    async 'sink-scale'() {
      const added = await stack.addSink();
      await sleep(between(500, 3000));
      const others = stack.sinks.filter((s) => s !== added && s.running);
      const removed = others[Math.floor(random() * others.length)];
      const drainMs = removed ? await stack.removeSink(removed) : 0;

      return `scale-up ${added.name}, then scale-down ${removed?.name ?? 'none'} (SIGTERM, exited in ${drainMs} ms)`;
    },

    async 'ingest-kill'() {
      const ingest = stack.ingestApp;
      await ingest.kill();
      const pause = between(200, 2000);
      await sleep(pause);
      await ingest.start();

      return `SIGKILL mid-request, back after ${pause} ms`;
    },
  };

  let lock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = lock.then(task);
    lock = run.catch(() => undefined);

    return run;
  };

  let finishRound = false;
  let deck: FaultKind[] = [];
  const loop = (async () => {
    while (running || (finishRound && deck.length > 0)) {
      await sleep(between(1000, 3000));
      if (!running && !(finishRound && deck.length > 0)) break;
      if (deck.length === 0) deck = shuffle([...kinds], random);
      const kind = deck.shift() as FaultKind;
      const { at, outcome } = await exclusive(async () => ({ at: Date.now(), outcome: await faults[kind]() }));
      injected[kind] = (injected[kind] ?? 0) + 1;
      timeline.push({
        at: Math.round((at - startedAt) / 100) / 10,
        kind,
        ...(typeof outcome === 'string' ? { detail: outcome } : outcome),
        ms: Date.now() - at,
      });
    }
  })();

  return {
    timeline,
    injected,
    exclusive,
    async stop({ round = false } = {}) {
      finishRound = round;
      running = false;
      await loop;
    },
  };
}

/** Fisher-Yates with the given PRNG. */
function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }

  return items;
}
