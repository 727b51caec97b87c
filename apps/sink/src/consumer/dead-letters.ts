import type { Redis } from 'ioredis';
import type { PartitionKeys } from '@app/contracts';
import type { RawEntry } from './stream-replies';

export interface DeadLetter {
  entry: RawEntry;
  reason: string;
}

/**
 * Moves entries to the partition's dead-letter stream with their reason and acks them, in one script that skips
 * entries the group no longer holds: each entry is dead-lettered once, whichever replica gets there first.
 */
export async function sendToDeadLetters(
  redis: Redis,
  keys: PartitionKeys,
  group: string,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) {
    return;
  }
  const args = letters.flatMap(({ entry, reason }) => {
    const fields = entry.fields ?? [];

    return [entry.id, reason, entry.deliveries, fields.length, ...fields];
  });
  await redis.deadLetter(keys.stream, keys.deadLetters, group, ...args);
}
