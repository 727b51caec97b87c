import { type ChangeEntry, decodeEntry } from '@app/contracts';
import type { RejectedEntry } from '../upsert/batch-result';
import type { DeadLetter } from './partition-stream';
import type { RawEntry } from './stream-replies';

/** A batch as read and sorted out before its write: what to write, what to ack unwritten, what to dead-letter. */
export interface SortedBatch {
  raw: RawEntry[];
  /** Decoded changes, the superseded ones included. */
  changes: ChangeEntry[];
  /** Changes whose document Redis holds at a newer version: acked without a write. */
  superseded: Set<ChangeEntry>;
  letters: DeadLetter[];
  /** Entries deleted from the stream while pending: nothing to write, only to ack. */
  settledIds: string[];
}

/**
 * Sorts a batch's entries out: deleted ones are only acked, ones delivered more than `maxDeliveries` times or
 * undecodable are dead-lettered, the rest are decoded. Which changes are superseded is for Redis to say.
 */
export function sortEntries(raw: RawEntry[], maxDeliveries: number): Omit<SortedBatch, 'superseded'> {
  const letters: DeadLetter[] = [];
  const changes: ChangeEntry[] = [];
  const settledIds: string[] = [];
  for (const entry of raw) {
    if (entry.fields === null) {
      settledIds.push(entry.id);
    } else if (entry.deliveries > maxDeliveries) {
      letters.push({ entry, reason: `delivered ${entry.deliveries} times without being written` });
    } else {
      try {
        changes.push(decodeEntry(entry.id, entry.fields));
      } catch (error) {
        letters.push({ entry, reason: `undecodable entry: ${(error as Error).message}` });
      }
    }
  }

  return { raw, changes, letters, settledIds };
}

/** Dead letters for the entries refused for their content (by PostgreSQL, or by the output mapping). */
export function rejectedLetters(raw: readonly RawEntry[], rejected: readonly RejectedEntry[]): DeadLetter[] {
  if (rejected.length === 0) {
    return [];
  }
  const byId = new Map(raw.map((e) => [e.id, e]));

  return rejected.map(({ entry, reason }) => {
    const rawEntry = byId.get(entry.entryId);
    if (rawEntry === undefined) {
      throw new Error(`rejected entry ${entry.entryId} is not one of the batch's`);
    }

    return { entry: rawEntry, reason };
  });
}
