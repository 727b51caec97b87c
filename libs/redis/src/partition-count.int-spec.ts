import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { allPartitions, partitionCountKey, partitionKeys, partitionOf } from '@app/contracts';
import { testServers } from '../../../test/utils/servers';
import { PartitionCountChangeRefusedError, settlePartitionCount } from './partition-count';

/**
 * A collection's partition count can change only while nothing of the old layout waits to be written.
 *
 * Real: Redis. Mocked: nothing.
 */
describe('settlePartitionCount', () => {
  let redis: Redis;
  let name: string;
  const ids = Array.from({ length: 40 }, (_, i) => `doc-${i}`);

  /** Writes each id's hash where `partitions` routes it, and a stream entry per id unless `acked`. */
  async function writeLayout(partitions: number, { acked }: { acked: boolean }): Promise<void> {
    for (const keys of allPartitions({ name, partitions })) {
      await redis.xgroup('CREATE', keys.stream, 'spillway', '$', 'MKSTREAM');
    }
    for (const id of ids) {
      const keys = partitionKeys(name, partitionOf(id, partitions));
      await redis.hset(keys.document(id), 'v', 1, 'd', '{}', 'x', 0);
      await redis.xadd(keys.stream, '*', '3 put', '{}');
    }
    if (acked) {
      for (const keys of allPartitions({ name, partitions })) {
        const read = (await redis.xreadgroup('GROUP', 'spillway', 'c', 'COUNT', 1000, 'STREAMS', keys.stream, '>')) as
          [string, [string, string[]][]][] | null;
        const entryIds = (read?.[0]?.[1] ?? []).map(([id]) => id);
        if (entryIds.length > 0) await redis.xack(keys.stream, 'spillway', ...entryIds);
      }
    }
  }

  /** Which partition holds each id's hash under `partitions`' keys (-1: none). */
  async function hashLocations(partitions: number): Promise<number[]> {
    return Promise.all(
      ids.map(async (id) => {
        for (const keys of allPartitions({ name, partitions })) {
          if (await redis.exists(keys.document(id))) return keys.partition;
        }

        return -1;
      }),
    );
  }

  beforeEach(() => {
    redis = new Redis(testServers().redisUrl, { protocol: 2 });
    name = `pc_${randomUUID().slice(0, 8)}`;
  });

  afterEach(async () => {
    const keys = await redis.keys(`spw:*${name}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('records the count on first use and leaves it when it is the same', async () => {
    expect(await settlePartitionCount(redis, { name, partitions: 4 })).toEqual({ kind: 'recorded' });
    expect(await redis.get(partitionCountKey(name))).toBe('4');
    expect(await settlePartitionCount(redis, { name, partitions: 4 })).toEqual({ kind: 'unchanged' });
  });

  it('refuses a new count while entries of the old streams wait, naming both counts, and changes nothing', async () => {
    await writeLayout(1, { acked: false });
    // Keys written before partitions existed: partition 0's stream stands for a record of 1.
    await expect(settlePartitionCount(redis, { name, partitions: 8 })).rejects.toThrow(
      new PartitionCountChangeRefusedError(
        `collection ${name}: partitions changed from 1 to 8 while 40 entries of its 1 streams wait to be written; ` +
          'start with partitions: 1 until the sinks have written them (stop ingest and let the backlog reach 0), ' +
          'then change it',
      ),
    );
    expect(await redis.get(partitionCountKey(name))).toBeNull();
    expect(await hashLocations(1)).toEqual(ids.map(() => 0));
  });

  it('with nothing waiting, changes the count and drops the hashes the new count routes elsewhere', async () => {
    await writeLayout(8, { acked: true });
    await redis.set(partitionCountKey(name), 8);

    const outcome = await settlePartitionCount(redis, { name, partitions: 2 });

    const kept = ids.filter((id) => partitionOf(id, 8) === partitionOf(id, 2));
    expect(outcome).toEqual({ kind: 'changed', from: 8, droppedDocuments: ids.length - kept.length });
    expect(await redis.get(partitionCountKey(name))).toBe('2');
    expect(await hashLocations(8)).toEqual(ids.map((id) => (kept.includes(id) ? partitionOf(id, 2) : -1)));
    // The streams past the new count are gone; those it keeps stay.
    const streams = await Promise.all(allPartitions({ name, partitions: 8 }).map((k) => redis.exists(k.stream)));
    expect(streams).toEqual([1, 1, 0, 0, 0, 0, 0, 0]);
  });
});
