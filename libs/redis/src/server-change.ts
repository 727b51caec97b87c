import calculateSlot from 'cluster-key-slot';
import { isCluster, type RedisClient } from './redis-client';

/**
 * Calls `listener` whenever the server that holds `key` may have changed, so that what was read from the old one (and
 * that a replica promoted in its place may lack, replication being asynchronous) is no longer trusted:
 *
 * - one server, or a master the Sentinels name: each time the connection is made again (`ready`; after a Sentinel
 *   failover that is the connection to the promoted replica);
 * - a Redis Cluster: each time the client connects again, loses a node's connection (a master going away, before any
 *   command reaches its successor), or learns that another node serves the key's slot (a failover or a resharding,
 *   seen at a slot refresh).
 */
export function onServerChange(client: RedisClient, key: string, listener: () => void): void {
  client.on('ready', listener);
  if (!isCluster(client)) {
    return;
  }
  const slot = calculateSlot(key);
  let serving = client.slots[slot]?.[0];
  client.on('-node', listener);
  client.on('refresh', () => {
    const now = client.slots[slot]?.[0];
    if (now !== serving) {
      serving = now;
      listener();
    }
  });
}
