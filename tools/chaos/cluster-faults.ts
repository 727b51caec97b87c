// The Redis Cluster's faults: a graceful failover, a master's SIGKILL (its replica takes over; it comes back as a
// replica), and slots moving between masters. Each ends with the cluster settled: 3 masters with a replica each,
// every slot served.
import { setTimeout as sleep } from 'node:timers/promises';
import { allPartitions, partitioned } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import { type ClusterNodeInfo, slotOfKey, type Stack } from '../local-stack';
import type { FaultOutcome } from './fault-outcome';
import type { Ledger } from './ledger';

export const CLUSTER_FAULTS = ['cluster-failover', 'master-kill', 'reshard'] as const;

export type ClusterFaultKind = (typeof CLUSTER_FAULTS)[number];

/** How long before a master's SIGKILL a request may have been sent and its write still be unreplicated (LossWindow). */
export const REPLICATION_BOUND_MS = 2000;

/**
 * With `replicaLag`, how long before its SIGKILL every other master kill holds its replica back: the replica is paused (SIGSTOP) and the
 * master drops its link (CLIENT KILL TYPE replica), so what the master acknowledges meanwhile never reaches the
 * replica, which is resumed right after the kill and takes over without it. On loopback a replica is otherwise too
 * close behind for a kill to lose anything; this makes the run measure the loss the check must count, as a replica
 * cut off by the network would.
 */
export const LINK_CUT_BEFORE_KILL_MS = 300;

/** Slots a `redis-cli --cluster reshard` moves, at most. */
const RESHARD_SLOTS = { min: 50, max: 400 };

interface PartitionSlot {
  /** `collection.p` */
  label: string;
  slot: number;
}

/** The cluster faults of a run on `stack`, drawing their victims from `random`. */
export function clusterFaults({
  stack,
  ledger,
  random,
  replicaLag = false,
}: {
  stack: Stack<RedisClient>;
  ledger: Ledger;
  random: () => number;
  /** every other master kill cuts its replica off first (LINK_CUT_BEFORE_KILL_MS) */
  replicaLag?: boolean;
}): Record<ClusterFaultKind, () => Promise<FaultOutcome>> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const between = (min: number, max: number): number => Math.round(min + random() * (max - min));
  const partitionSlots: PartitionSlot[] = stack.collections.flatMap((collection) =>
    allPartitions(partitioned(collection)).map((keys) => ({
      label: `${collection.name}.${keys.partition}`,
      slot: slotOfKey(keys.stream),
    })),
  );
  let masterKills = 0;
  const partitionsOf = (master: ClusterNodeInfo): string[] =>
    partitionSlots
      .filter(({ slot }) => master.slots.some(([start, end]) => start <= slot && slot <= end))
      .map(({ label }) => label);

  return {
    async 'cluster-failover'() {
      const cluster = stack.redisClusterHandle;
      const master = await cluster.masterOfSlot(pick(partitionSlots).slot);
      const replica = (await cluster.replicas()).find((r) => r.masterId === master.id);
      if (!replica) return { detail: `master ${master.port} has no replica` };
      const partitions = partitionsOf(master);
      const startedAt = Date.now();
      await cluster.failover(replica.port);

      return {
        detail:
          `replica ${replica.port} took over from master ${master.port} (${partitions.join(' ')}) by ` +
          `CLUSTER FAILOVER in ${Date.now() - startedAt} ms`,
        partitions,
      };
    },

    async 'master-kill'() {
      const cluster = stack.redisClusterHandle;
      const target = pick(partitionSlots);
      const master = await cluster.masterOfSlot(target.slot);
      const partitions = partitionsOf(master);
      const cutLink = replicaLag && masterKills % 2 === 0;
      masterKills += 1;
      const from = ledger.mark();
      await sleep(REPLICATION_BOUND_MS - (cutLink ? LINK_CUT_BEFORE_KILL_MS : 0));
      const replica = cutLink ? await cluster.cutOffReplica(master.port) : undefined;
      if (replica !== undefined) await sleep(LINK_CUT_BEFORE_KILL_MS);
      const killedAt = Date.now();
      await cluster.kill(master.port);
      const to = ledger.mark();
      if (replica !== undefined) cluster.resume(replica);
      await cluster.waitForFailover();
      const failoverMs = Date.now() - killedAt;
      const successor = await cluster.masterOfSlot(target.slot);
      const pause = between(500, 3000);
      await sleep(pause);
      await cluster.restart(master.port);

      return {
        detail:
          `master ${master.port} (${partitions.join(' ')}) SIGKILL` +
          (replica !== undefined ? ` ${LINK_CUT_BEFORE_KILL_MS} ms after its replica ${replica} was cut off` : '') +
          `; replica ${successor.port} took over in ` +
          `${failoverMs} ms; ${master.port} restarted after ${pause} ms as its replica`,
        partitions,
        lossWindow: { from, to },
      };
    },

    async reshard() {
      const cluster = stack.redisClusterHandle;
      const target = pick(partitionSlots);
      const from = await cluster.masterOfSlot(target.slot);
      const masters = await cluster.masters();
      const to = pick(masters.filter((m) => m.id !== from.id));
      const keys = await cluster.moveSlot(target.slot, to.port);
      // Then redis-cli moves a range (it takes the source's first slots), with whatever partitions fall in it.
      const source = pick(await cluster.masters());
      const destination = pick((await cluster.masters()).filter((m) => m.id !== source.id));
      const held = source.slots.reduce((n, [start, end]) => n + end - start + 1, 0);
      const count = Math.min(between(RESHARD_SLOTS.min, RESHARD_SLOTS.max), held - 1);
      const moved = new Set(await cluster.reshard({ from: source.port, to: destination.port, slots: count }));
      const carried = partitionSlots.filter(({ slot }) => moved.has(slot)).map(({ label }) => label);

      return {
        detail:
          `slot ${target.slot} of ${target.label} (${keys} keys) moved ${from.port} → ${to.port}; ` +
          `redis-cli reshard of ${moved.size} slots ${source.port} → ${destination.port}` +
          (carried.length ? ` carrying ${carried.join(' ')}` : ''),
        partitions: [target.label, ...carried],
      };
    },
  };
}
