import calculateSlot from 'cluster-key-slot';
import { allPartitions, documentKeys, partitionKeys, partitionOf } from './keys';

describe('partitions', () => {
  it('routes an id to the same partition every time, within the count', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `doc-${i}`);
    for (const id of ids) {
      expect(partitionOf(id, 8)).toBe(partitionOf(id, 8));
      expect(partitionOf(id, 8)).toBeGreaterThanOrEqual(0);
      expect(partitionOf(id, 8)).toBeLessThan(8);
      expect(partitionOf(id, 1)).toBe(0);
    }
    const perPartition = new Array<number>(8).fill(0);
    for (const id of ids) perPartition[partitionOf(id, 8)] = (perPartition[partitionOf(id, 8)] ?? 0) + 1;
    // 2000 ids over 8 partitions: 250 each on average; a hash this even keeps every one within a fifth of that.
    for (const count of perPartition) expect(Math.abs(count - 250)).toBeLessThan(50);
  });

  it('keeps every key of a partition in one Redis Cluster slot, and partitions apart', () => {
    const collection = { name: 'sessions', partitions: 8 };
    const slots = allPartitions(collection).map((keys) => {
      const slot = calculateSlot(keys.stream);
      for (const key of [keys.deadLetters, keys.epoch, keys.lease('spillway'), keys.document('a:b{c}')]) {
        expect(calculateSlot(key)).toBe(slot);
      }

      return slot;
    });
    expect(new Set(slots).size).toBe(8);
  });

  it('puts a document and the stream of its changes in its partition', () => {
    const collection = { name: 'sessions', partitions: 4 };
    const keys = partitionKeys('sessions', partitionOf('user-7', 4));
    expect(documentKeys(collection, 'user-7')).toEqual({ document: keys.document('user-7'), stream: keys.stream });
    expect(keys.stream).toBe(`spw:{sessions.${keys.partition}}:stream`);
  });
});
