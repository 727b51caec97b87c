import {
  fairShares,
  homeOf,
  partitionsToRelease,
  partitionsToTake,
  rankOf,
  readersPerPartition,
  type SinkRank,
} from './lease-assignment';

const sinks = (count: number) => Array.from({ length: count }, (_, i) => `sink-${String(i).padStart(2, '0')}`);
const ranks = (count: number): SinkRank[] => Array.from({ length: count }, (_, index) => ({ index, count }));

describe(fairShares.name, () => {
  it('splits 8 partitions among 3 sinks as 3, 3 and 2, and 16 among 3 as 6, 5 and 5 over two collections', () => {
    const collections = [
      { name: 'docs', partitions: 8 },
      { name: 'events', partitions: 8 },
    ];

    const shares = ranks(3).map((rank) => fairShares(collections, rank));

    expect(shares.map((s) => s.get('docs'))).toEqual([3, 3, 2]);
    // The extras of the second collection go on from where the first one's stopped.
    expect(shares.map((s) => s.get('events'))).toEqual([3, 2, 3]);
  });

  it('gives every sink every partition of a one-partition collection, as before partitions', () => {
    const sut = ranks(3).map((rank) => fairShares([{ name: 'docs', partitions: 1 }], rank).get('docs'));

    expect(sut).toEqual([1, 1, 1]);
    expect(readersPerPartition(1, 3)).toBe(3);
  });

  it.each([
    [1, 1],
    [8, 1],
    [8, 3],
    [8, 8],
    [8, 10],
    [3, 7],
    [2, 5],
    [1, 4],
    [64, 7],
  ])(
    'with %i partitions and %i sinks: shares add up to every reader place, none over the partitions, none 0 or apart by more than 1',
    (partitions, count) => {
      const shares = ranks(count).map((rank) => fairShares([{ name: 'c', partitions }], rank).get('c') ?? -1);

      const places = partitions * readersPerPartition(partitions, count);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(places);
      expect(places).toBeGreaterThanOrEqual(partitions);
      expect(Math.max(...shares)).toBeLessThanOrEqual(partitions);
      expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      expect(Math.min(...shares)).toBeGreaterThan(0);
    },
  );

  it('spreads the extras of many collections so that the totals differ by at most one', () => {
    const collections = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, partitions: 4 }));

    const totals = ranks(3).map((rank) => [...fairShares(collections, rank).values()].reduce((a, b) => a + b, 0));

    expect(totals.reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...totals) - Math.min(...totals)).toBeLessThanOrEqual(1);
  });

  it('is the same whatever order the collections are listed in', () => {
    const collections = [
      { name: 'b', partitions: 5 },
      { name: 'a', partitions: 7 },
    ];
    const rank = { index: 1, count: 3 };

    expect(fairShares(collections, rank)).toEqual(fairShares([...collections].reverse(), rank));
  });
});

describe(rankOf.name, () => {
  it('ranks a sink by its name among the live ones, counting itself before its first heartbeat', () => {
    expect(rankOf(['b', 'c', 'a'], 'b')).toEqual({ index: 1, count: 3 });
    expect(rankOf(['b', 'c'], 'a')).toEqual({ index: 0, count: 3 });
    expect(rankOf(sinks(10), 'sink-09')).toEqual({ index: 9, count: 10 });
  });
});

describe(partitionsToTake.name, () => {
  const home = homeOf(8, { index: 1, count: 3 });

  it('starts each sink at its own home partition', () => {
    expect(ranks(3).map((rank) => homeOf(8, rank).partition)).toEqual([0, 2, 5]);
  });

  it('prefers unread partitions, then the nearest to its home, and skips full ones and its own', () => {
    const views = [
      { partition: 0, readers: 0, mine: false },
      { partition: 1, readers: 1, mine: false },
      { partition: 2, readers: 1, mine: true },
      { partition: 3, readers: 2, mine: false },
      { partition: 4, readers: 0, mine: false },
      { partition: 5, readers: 1, mine: false },
    ];

    expect(partitionsToTake(views, 2, home)).toEqual([4, 0, 5, 1]);
    expect(partitionsToTake(views, 1, home)).toEqual([4, 0]);
  });
});

describe(partitionsToRelease.name, () => {
  const home = homeOf(8, { index: 0, count: 2 });

  it('gives up what is over the share: partitions others also read first, then the farthest from home', () => {
    const views = [0, 1, 2, 3, 5].map((partition) => ({ partition, readers: partition === 1 ? 2 : 1, mine: true }));

    expect(partitionsToRelease(views, 3, home)).toEqual([1, 5]);
    expect(partitionsToRelease(views, 5, home)).toEqual([]);
    expect(partitionsToRelease(views, 0, home)).toHaveLength(5);
  });
});
