import type { Redis } from 'ioredis';

/**
 * Calls `batch` with every key that starts with `prefix` (SCAN, a batch of keys at a time). The prefix is
 * matched literally: its glob characters (the braces of a hash tag among them) are escaped.
 */
export async function forEachKeyWithPrefix(
  redis: Redis,
  prefix: string,
  batch: (keys: string[]) => Promise<void>,
): Promise<void> {
  const pattern = `${prefix.replace(/[{}*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) await batch(keys);
  } while (cursor !== '0');
}
