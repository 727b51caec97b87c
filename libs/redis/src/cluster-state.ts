import type { Cluster, Redis } from 'ioredis';

/** The address of a node as ioredis holds it. */
export function nodeAddress(node: Redis): string {
  return `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
}

/** What one master says of the cluster: its `cluster_state`, or why it did not answer in time. */
async function stateSeenBy(master: Redis, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const info = String(await Promise.race([master.cluster('INFO'), timeout]));

    return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves when the cluster serves every slot: every master the client knows answers CLUSTER INFO within `timeoutMs`,
 * with `cluster_state:ok`. Rejects with one line naming the masters that did not answer and those that see the cluster
 * down (a slot without a master).
 */
export async function assertClusterServing(cluster: Cluster, timeoutMs = 800): Promise<void> {
  const masters = cluster.nodes('master');
  if (masters.length === 0) {
    throw new Error(`no Redis Cluster master is known (the cluster client is ${cluster.status})`);
  }
  const states = await Promise.allSettled(masters.map((master) => stateSeenBy(master, timeoutMs)));
  const problems = states.flatMap((state, i) => {
    const address = nodeAddress(masters[i] as Redis);
    if (state.status === 'rejected') {
      return [`master ${address} unreachable (${(state.reason as Error).message})`];
    }

    return state.value === 'ok' ? [] : [`master ${address} sees cluster_state ${state.value}`];
  });
  if (problems.length > 0) {
    throw new Error(`Redis Cluster not serving every slot: ${problems.join('; ')}`);
  }
}
