import type { Redis } from 'ioredis';
import { DeadLetterField } from '@app/contracts';
import type { PartitionKeys } from '@app/contracts';
import type { RawEntry } from './stream-replies';

export interface DeadLetter {
  entry: RawEntry;
  reason: string;
}

/** Moves entries to the partition's dead-letter stream with their reason and acks them, in one MULTI. */
export async function sendToDeadLetters(
  redis: Redis,
  keys: PartitionKeys,
  group: string,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) {
    return;
  }
  const multi = redis.multi();
  for (const { entry, reason } of letters) {
    multi.xadd(
      keys.deadLetters,
      '*',
      ...(entry.fields ?? []),
      DeadLetterField.REASON,
      reason,
      DeadLetterField.SOURCE_ID,
      entry.id,
      DeadLetterField.DELIVERIES,
      String(entry.deliveries),
    );
  }
  multi.xack(keys.stream, group, ...letters.map((l) => l.entry.id));
  await multi.exec();
}
