import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import type { Collection } from '@app/collections';
import { allPartitions, groupMembersKey, type PartitionKeys } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import { openRedis } from '@app/redis';
import { expectEventually } from '../../../../test/utils/expect-eventually';
import { testServers } from '../../../../test/utils/servers';
import { type LeasedLoop, PartitionLeaseKeeper } from './partition-lease-keeper';
import { PartitionLeases } from './partition-leases';

const TTL_MS = 1000;

/**
 * Sinks sharing partitions through their leases, each a keeper whose loops only record that they run. Real: Redis,
 * the leases and the keeper. Mocked: the partition loops (no stream is read).
 */
describe(PartitionLeaseKeeper.name, () => {
  let redis: Redis;
  let group: string;
  let docs: Collection;
  let events: Collection;
  const clients: Redis[] = [];
  const keepers: PartitionLeaseKeeper[] = [];

  const collection = (name: string, partitions: number): Collection => ({
    name,
    kind: 'document',
    tableSchema: 'public',
    table: name,
    key: 'id',
    partitions,
    file: `${name}.yaml`,
    outputs: [],
  });

  const fakeLoop = (c: Collection, keys: PartitionKeys): LeasedLoop & { stopped: boolean } => {
    const loop = {
      collection: c,
      keys,
      ended: false,
      databaseFailing: false,
      stopped: false,
      stop: () => {
        loop.stopped = true;
        loop.ended = true;

        return Promise.resolve();
      },
    };

    return loop;
  };

  /** A sink's keeper on a connection of its own, so that a test can cut it off as a crash would. */
  const startSink = (consumer: string, collections = [docs, events]) => {
    const client = openRedis(testServers().redisUrl);
    clients.push(client);
    const leases = new PartitionLeases(client, group, consumer, TTL_MS);
    const sut = new PartitionLeaseKeeper(collections, leases, fakeLoop, {
      connection: 'default',
      consumer,
      ttlMs: TTL_MS,
      metrics: new SpillwayMetrics(new Registry()),
    });
    keepers.push(sut);
    void sut.run();

    return { sut, client };
  };

  const readersOf = (keys: PartitionKeys) => redis.zrange(keys.lease(group), '0', '-1');

  /** Partition → the sinks its lease names, for one collection. */
  const leaseHolders = async (c: Collection) =>
    Promise.all(allPartitions(c).map((keys) => readersOf(keys).then((r) => r.sort())));

  const owned = (sut: PartitionLeaseKeeper, c: Collection) =>
    sut.loops
      .filter((l) => l.collection === c)
      .map((l) => l.keys.partition)
      .sort((a, b) => a - b);

  /** Each sink reads its lease holdings, and every partition of `c` is read by exactly one of them. */
  const expectShared = async (sinks: { sut: PartitionLeaseKeeper }[], names: string[], c: Collection) => {
    const holders = await leaseHolders(c);
    expect(holders.every((h) => h.length === 1)).toBe(true);
    const counts = sinks.map(({ sut }) => owned(sut, c).length);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(c.partitions);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    sinks.forEach(({ sut }, i) => {
      expect(owned(sut, c)).toEqual(holders.flatMap((h, p) => (h[0] === names[i] ? [p] : [])));
    });
  };

  beforeAll(() => {
    redis = openRedis(testServers().redisUrl);
  });

  afterAll(() => redis.quit());

  beforeEach(() => {
    group = `test-${randomUUID()}`;
    const suffix = randomUUID().slice(0, 8).replace(/-/g, '');
    docs = collection(`lk_docs_${suffix}`, 8);
    events = collection(`lk_events_${suffix}`, 8);
  });

  afterEach(async () => {
    await Promise.allSettled(keepers.splice(0).map((k) => k.close()));
    for (const client of clients.splice(0)) client.disconnect();
    const keys = [docs, events].flatMap((c) => allPartitions(c).map((k) => k.lease(group)));
    await redis.del(groupMembersKey(group), ...keys);
  });

  it('shares 8 partitions among 3 sinks as 3, 3 and 2, every one read once, as the lease keys say', async () => {
    const names = ['a', 'b', 'c'];
    const sinks = names.map((name) => startSink(name));

    await expectEventually(async () => {
      await expectShared(sinks, names, docs);
      await expectShared(sinks, names, events);
    }, 10_000);
    expect((await redis.zrange(groupMembersKey(group), '0', '-1')).sort()).toEqual(names);
  });

  it('gives up its leases on close at once, and the others take them on their next round', async () => {
    const sinks = ['a', 'b', 'c'].map((name) => startSink(name));
    await expectEventually(() => expectShared(sinks, ['a', 'b', 'c'], docs), 10_000);
    const leaving = sinks[1]!;
    const held = owned(leaving.sut, docs);

    await leaving.sut.close();
    const holders = await leaseHolders(docs);
    expect(held.map((p) => holders[p])).toEqual(held.map(() => []));
    expect((await redis.zrange(groupMembersKey(group), '0', '-1')).sort()).toEqual(['a', 'c']);
    const started = Date.now();
    await expectEventually(() => expectShared([sinks[0]!, sinks[2]!], ['a', 'c'], docs), 10_000, 20);
    expect(Date.now() - started).toBeLessThan(TTL_MS);
  });

  it('takes over the leases of a sink cut off from Redis once they lapse', async () => {
    const sinks = ['a', 'b', 'c'].map((name) => startSink(name));
    await expectEventually(() => expectShared(sinks, ['a', 'b', 'c'], docs), 10_000);
    const zombie = sinks[0]!;
    const held = owned(zombie.sut, docs);
    expect(held.length).toBeGreaterThan(0);

    // Cut off, its rounds fail and its loops go on (nobody can tell them otherwise), as for a sink SIGKILLed or frozen.
    zombie.client.disconnect();
    const cutAt = Date.now();
    await expectEventually(
      async () => {
        const holders = await leaseHolders(docs);
        expect(held.map((p) => holders[p])).toEqual(held.map(() => expect.not.arrayContaining(['a'])));
        expect(holders.every((h) => h.length === 1)).toBe(true);
      },
      10_000,
      20,
    );
    const takenAfter = Date.now() - cutAt;
    // Its last renewal came at most a round (a third of the TTL) before the cut.
    expect(takenAfter).toBeGreaterThanOrEqual((2 * TTL_MS) / 3 - 50);
    console.log(`partition leases of a cut-off sink taken over after ${takenAfter} ms (TTL ${TTL_MS} ms)`);
  });

  it('makes room for a sink that joins: the others give up partitions until each holds its share', async () => {
    const sinks = ['a', 'b', 'c'].map((name) => startSink(name));
    await expectEventually(() => expectShared(sinks, ['a', 'b', 'c'], docs), 10_000);

    sinks.push(startSink('d'));
    const joinedAt = Date.now();

    await expectEventually(
      async () => {
        await expectShared(sinks, ['a', 'b', 'c', 'd'], docs);
        await expectShared(sinks, ['a', 'b', 'c', 'd'], events);
      },
      10_000,
      20,
    );
    console.log(`a joining sink got its share after ${Date.now() - joinedAt} ms (TTL ${TTL_MS} ms)`);
    expect(owned(sinks[3]!.sut, docs)).toHaveLength(2);
  });

  it('lets every sink read a collection of one partition, as before partitions', async () => {
    const single = collection(`lk_single_${randomUUID().slice(0, 8).replace(/-/g, '')}`, 1);
    const sinks = ['a', 'b', 'c'].map((name) => startSink(name, [single]));

    await expectEventually(async () => {
      expect(await readersOf(allPartitions(single)[0]!)).toEqual(['a', 'b', 'c']);
      expect(sinks.map(({ sut }) => owned(sut, single))).toEqual([[0], [0], [0]]);
    }, 10_000);
    await redis.del(allPartitions(single)[0]!.lease(group));
  });

  it('stops reading a partition whose renewal is refused: its place was taken while the lease had lapsed', async () => {
    const { sut } = startSink('a', [docs]);
    await expectEventually(() => expect(owned(sut, docs)).toHaveLength(8), 10_000);
    const lost = allPartitions(docs)[3]!;
    const loop = sut.loops.find((l) => l.keys === lost) as LeasedLoop & { stopped: boolean };

    await redis.del(lost.lease(group));
    await redis.zadd(lost.lease(group), Date.now() + 60_000, 'z');

    await expectEventually(() => expect(loop.stopped).toBe(true), 5000, 20);
    expect(owned(sut, docs)).not.toContain(3);
  });
});
