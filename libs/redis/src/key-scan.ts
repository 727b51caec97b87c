import calculateSlot from 'cluster-key-slot';
import { isCluster, type RedisClient } from './redis-client';

/** Keys a SCAN call asks for. */
const SCAN_COUNT = 2000;

/**
 * Calls `batch` with every key that starts with `prefix` (SCAN, a batch of keys at a time). The prefix is matched
 * literally: its glob characters (the braces of a hash tag among them) are escaped. On a Redis Cluster every master is
 * scanned, and each batch holds the keys of one slot, so a multi-key command on a batch (UNLINK) stays in one slot.
 */
export async function forEachKeyWithPrefix(
  redis: RedisClient,
  prefix: string,
  batch: (keys: string[]) => Promise<void>,
): Promise<void> {
  const pattern = `${prefix.replace(/[{}*?[\]\\]/g, '\\$&')}*`;
  if (!isCluster(redis)) {
    return scanServer(redis, pattern, batch);
  }
  const masters = redis.nodes('master');
  if (masters.length === 0) {
    throw new Error('no Redis Cluster master is known (is the cluster client connected?)');
  }
  for (const master of masters) {
    await scanServer(master, pattern, async (keys) => {
      for (const inSlot of bySlot(keys)) await batch(inSlot);
    });
  }
}

async function scanServer(
  redis: RedisClient,
  pattern: string,
  batch: (keys: string[]) => Promise<void>,
): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (keys.length > 0) await batch(keys);
  } while (cursor !== '0');
}

function bySlot(keys: string[]): string[][] {
  const groups = new Map<number, string[]>();
  for (const key of keys) {
    const slot = calculateSlot(key);
    const group = groups.get(slot);
    if (group) group.push(key);
    else groups.set(slot, [key]);
  }

  return [...groups.values()];
}
