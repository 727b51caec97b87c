import type { PartitionedCollection } from '@app/contracts';

/**
 * How many sinks may read one partition at once: one while there are at least as many partitions as sinks, else
 * enough that every sink reads something (a collection of one partition is read by every sink, as before partitions).
 */
export function readersPerPartition(partitions: number, sinks: number): number {
  return Math.max(1, Math.ceil(sinks / partitions));
}

/** This sink's place among the live ones: their names sorted, with its own among them even before its heartbeat. */
export interface SinkRank {
  /** 0-based position of this sink's name */
  index: number;
  /** how many sinks are live */
  count: number;
}

export function rankOf(members: readonly string[], me: string): SinkRank {
  const sorted = [...new Set([...members, me])].sort();

  return { index: sorted.indexOf(me), count: sorted.length };
}

/**
 * How many partitions of each collection this sink should read: its share of the collection's reader places
 * (partitions × {@link readersPerPartition}) among the live sinks. Every sink computes the same split from the same
 * member list: the places that do not divide evenly go one each to consecutive sinks by rank, starting after those
 * that took the previous collection's (collections by name), so the extras spread over the sinks and each
 * collection's shares add up to all its places.
 */
export function fairShares(collections: readonly PartitionedCollection[], rank: SinkRank): Map<string, number> {
  const shares = new Map<string, number>();
  let offset = 0;
  for (const { name, partitions } of [...collections].sort((a, b) => a.name.localeCompare(b.name))) {
    const places = partitions * readersPerPartition(partitions, rank.count);
    const extras = places % rank.count;
    const getsExtra = (rank.index - offset + rank.count) % rank.count < extras;
    shares.set(name, Math.floor(places / rank.count) + (getsExtra ? 1 : 0));
    offset = (offset + extras) % rank.count;
  }

  return shares;
}

/** One partition as a sink sees it on a round: how many live sinks read it, and whether this one is among them. */
export interface PartitionView {
  partition: number;
  readers: number;
  mine: boolean;
}

/** Where this sink's preference starts in a collection of `partitions`: see {@link homeOf}. */
export interface Home {
  partition: number;
  partitions: number;
}

/**
 * Where this sink's preference starts in a collection's partitions: sinks spread their starting points, so that two
 * sinks looking for free partitions at once seldom race for the same one.
 */
export function homeOf(partitions: number, rank: SinkRank): Home {
  return { partition: Math.floor((rank.index * partitions) / rank.count), partitions };
}

/** A partition's distance from this sink's home, going up and wrapping around: nearer is preferred. */
function distance(partition: number, home: Home): number {
  return (partition - home.partition + home.partitions) % home.partitions;
}

/**
 * The partitions to try to take, in order, while this sink reads fewer than its share: those with room for another
 * reader, the least read first (an unread partition before all others), then the nearest to its home.
 */
export function partitionsToTake(views: readonly PartitionView[], room: number, home: Home): number[] {
  return views
    .filter((v) => !v.mine && v.readers < room)
    .sort((a, b) => a.readers - b.readers || distance(a.partition, home) - distance(b.partition, home))
    .map((v) => v.partition);
}

/**
 * The partitions to give up when this sink reads more than its share: those other sinks also read first (giving them
 * up leaves nothing unread), then the farthest from its home.
 */
export function partitionsToRelease(views: readonly PartitionView[], share: number, home: Home): number[] {
  const mine = views.filter((v) => v.mine);

  return mine
    .sort((a, b) => b.readers - a.readers || distance(b.partition, home) - distance(a.partition, home))
    .slice(0, Math.max(0, mine.length - share))
    .map((v) => v.partition);
}
