// Redis Sentinel's fault: the master's SIGKILL; the Sentinels promote its replica, the apps follow, and the old master
// comes back as a replica of the new one. It ends with the setup settled: a master with its replica, 3 Sentinels.
import { setTimeout as sleep } from 'node:timers/promises';
import { allPartitions, partitioned } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import type { Stack } from '../local-stack';
import { LINK_CUT_BEFORE_KILL_MS, REPLICATION_BOUND_MS } from './cluster-faults';
import type { FaultOutcome } from './fault-outcome';
import type { Ledger } from './ledger';

export const SENTINEL_FAULTS = ['sentinel-failover'] as const;

export type SentinelFaultKind = (typeof SENTINEL_FAULTS)[number];

/**
 * The Sentinel faults of a run on `stack`, drawing their pauses from `random`. With `replicaLag`, every other kill
 * first cuts the replica off as on a cluster (LINK_CUT_BEFORE_KILL_MS, cluster-faults.ts), so that the kill loses what
 * the master acknowledged meanwhile.
 */
export function sentinelFaults({
  stack,
  ledger,
  random,
  replicaLag = false,
}: {
  stack: Stack<RedisClient>;
  ledger: Ledger;
  random: () => number;
  replicaLag?: boolean;
}): Record<SentinelFaultKind, () => Promise<FaultOutcome>> {
  let kills = 0;
  const between = (min: number, max: number): number => Math.round(min + random() * (max - min));
  // One master holds every partition: a kill may lose writes of any of them.
  const partitions = stack.collections.flatMap((collection) =>
    allPartitions(partitioned(collection)).map((keys) => `${collection.name}.${keys.partition}`),
  );

  return {
    async 'sentinel-failover'() {
      const sentinel = stack.redisSentinelHandle;
      const cutLink = replicaLag && kills % 2 === 0;
      kills += 1;
      const from = ledger.mark();
      await sleep(REPLICATION_BOUND_MS - (cutLink ? LINK_CUT_BEFORE_KILL_MS : 0));
      const cutOff = cutLink ? await sentinel.cutOffReplicas() : [];
      if (cutOff.length > 0) await sleep(LINK_CUT_BEFORE_KILL_MS);
      const killed = await sentinel.killMaster();
      const killedAt = Date.now();
      const to = ledger.mark();
      sentinel.resume(cutOff);
      const master = await sentinel.waitForFailover(killed.port);
      const failoverMs = Date.now() - killedAt;
      const pause = between(500, 3000);
      await sleep(pause);
      const restartedAt = Date.now();
      await sentinel.restart(killed.port);

      return {
        detail:
          `master ${killed.port} SIGKILL` +
          (cutOff.length > 0
            ? ` ${LINK_CUT_BEFORE_KILL_MS} ms after its replica ${cutOff.join(', ')} was cut off`
            : '') +
          `; the Sentinels promoted ${master.port} in ${failoverMs} ms; ` +
          `${killed.port} restarted after ${pause} ms, a replica again after ${Date.now() - restartedAt} ms`,
        partitions,
        lossWindow: { from, to },
      };
    },
  };
}
