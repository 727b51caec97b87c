import { setTimeout as sleep } from 'node:timers/promises';
import {
  allPartitions,
  type PartitionedCollection,
  partitionCountKey,
  partitionKeys,
  partitionOf,
} from '@app/contracts';
import { forEachKeyWithPrefix } from './key-scan';
import type { RedisClient } from './redis-client';
import { readStreamBacklog } from './stream-backlog';

/** A collection's partition count was changed while entries of the old layout still wait to be written. */
export class PartitionCountChangeRefusedError extends Error {}

/** What {@link settlePartitionCount} found and did. */
export type PartitionCountOutcome =
  { kind: 'unchanged' } | { kind: 'recorded' } | { kind: 'changed'; from: number; droppedDocuments: number };

/**
 * Makes Redis's record of a collection's partition count agree with the one this process runs with, before the
 * process routes any id. The record is what the collection's keys were written with; a process started with another
 * count would route ids to other streams and other document hashes than the ones holding them.
 *
 * - No record: it is made. Keys written before partitions existed are partition 0's, so a partition 0 stream counts
 *   as a record of 1.
 * - A different record: refused ({@link PartitionCountChangeRefusedError}) while any group has entries of the old
 *   streams left to write. With none left, every document is in the database: the document hashes that the new count
 *   routes elsewhere are deleted (a write then reads the version floor from the database, as after a TTL), so are the
 *   streams and epochs of partitions past the new count, and the record is changed. Dead letters stay.
 *
 * Ingest replicas still running with the old count are not seen here: stop every ingest before changing the count.
 */
export async function settlePartitionCount(
  redis: RedisClient,
  collection: PartitionedCollection,
): Promise<PartitionCountOutcome> {
  const key = partitionCountKey(collection.name);
  const recorded =
    (await redis.get(key)) ?? ((await redis.exists(partitionKeys(collection.name, 0).stream)) ? '1' : null);
  if (recorded === null) {
    await redis.set(key, collection.partitions);

    return { kind: 'recorded' };
  }
  const from = Number(recorded);
  if (from === collection.partitions) {
    return { kind: 'unchanged' };
  }
  const old = allPartitions({ name: collection.name, partitions: from });
  let waiting = 0;
  for (const keys of old) waiting += (await readStreamBacklog(redis, keys.stream)).backlog;
  if (waiting > 0) {
    throw new PartitionCountChangeRefusedError(
      `collection ${collection.name}: partitions changed from ${from} to ${collection.partitions} while ${waiting} ` +
        `entries of its ${from} streams wait to be written; start with partitions: ${from} until the sinks have ` +
        `written them (stop ingest and let the backlog reach 0), then change it`,
    );
  }
  let droppedDocuments = 0;
  for (const keys of old) {
    const prefix = keys.document('');
    await forEachKeyWithPrefix(redis, prefix, async (found) => {
      const moved = found.filter((k) => partitionOf(k.slice(prefix.length), collection.partitions) !== keys.partition);
      droppedDocuments += moved.length;
      if (moved.length > 0) await redis.unlink(...moved);
    });
    if (keys.partition >= collection.partitions) await redis.unlink(keys.stream, keys.epoch);
  }
  await redis.set(key, collection.partitions);

  return { kind: 'changed', from, droppedDocuments };
}

/** How long to wait before asking Redis again, after `attempt` failures. */
const retryDelayMs = (attempt: number): number => Math.min(100 * 2 ** attempt, 2000);

/**
 * {@link settlePartitionCount} for every collection, asking again while Redis cannot answer (each wait and each change
 * told to `log`); resolves once each is settled. Throws {@link PartitionCountChangeRefusedError} for a refused change,
 * or an error when `stop` returns true between attempts (the app is closing).
 */
export async function settlePartitionCounts(
  redis: RedisClient,
  collections: readonly PartitionedCollection[],
  log: { warn(message: string): void },
  stop: () => boolean,
): Promise<void> {
  for (const collection of collections) {
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await settlePartitionCount(redis, collection);
        if (outcome.kind === 'changed') {
          log.warn(
            `collection ${collection.name}: partitions changed from ${outcome.from} to ${collection.partitions}; ` +
              `${outcome.droppedDocuments} document hashes the new count routes elsewhere were dropped`,
          );
        }
        break;
      } catch (error) {
        if (error instanceof PartitionCountChangeRefusedError) throw error;
        if (stop()) throw new Error('closing before the partition counts were settled', { cause: error });
        const delay = retryDelayMs(attempt);
        log.warn(`partition counts not checked yet (${(error as Error).message}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }
}
