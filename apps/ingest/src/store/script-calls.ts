import type { Collection } from '@app/collections';
import { type PartitionKeys, partitionKeys, partitionOf } from '@app/contracts';
import { inGroups, type ItemResult } from './item-results';
import { redisFailure } from './redis-errors';

/** Items per script call: Redis runs a call without pause, so a big `_bulk` is cut up to keep others' latency low. */
const ITEMS_PER_CALL = 100;

/**
 * Sends items to Redis in script calls of one partition each, at most {@link ITEMS_PER_CALL} items a call, and
 * returns per item, in order, its reply or the error of its call (for Redis going away, the IngestException of a
 * write: every script call writes). Calls on one connection run in the order sent, so the items of a partition apply
 * in the order given.
 */
export function inScriptCalls<T, R>(
  collection: Collection,
  items: T[],
  idOf: (item: T) => string,
  call: (keys: PartitionKeys, chunk: T[]) => Promise<R[]>,
): Promise<ItemResult<R>[]> {
  return inGroups(
    items,
    (item) => partitionOf(idOf(item), collection.partitions),
    (inPartition, partition) => {
      const keys = partitionKeys(collection.name, partition);

      return inGroups(
        inPartition,
        (_, i) => Math.floor(i / ITEMS_PER_CALL),
        (chunk) =>
          call(keys, chunk).catch((error: unknown) => {
            throw redisFailure(error, 'write');
          }),
      );
    },
  );
}
