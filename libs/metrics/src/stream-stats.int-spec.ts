import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { type Collection, CollectionRegistry } from '@app/collections';
import { partitionKeys } from '@app/contracts';
import { testServers } from '../../../test/utils/servers';
import { SpillwayMetrics } from './spillway.metrics';
import { StreamStatsService } from './stream-stats.service';

/**
 * The backlog figure behind `spillway_stream_backlog` and the 429 limit.
 * Found by the chaos run: after Redis restarted on its AOF, XINFO GROUPS kept reporting a 'lag' of 23,576
 * entries for a group that had read everything, so the backlog never came back to 0.
 *
 * Real: Redis. Mocked: nothing.
 */
describe('StreamStatsService', () => {
  let redis: Redis;
  let collection: Collection;
  let stats: StreamStatsService;

  beforeEach(() => {
    redis = new Redis(testServers().redisUrl, { protocol: 2 });
    collection = { name: `stats_${randomUUID().slice(0, 8)}`, kind: 'event', partitions: 1 } as Collection;
    stats = new StreamStatsService(redis, new CollectionRegistry([collection]), new SpillwayMetrics(new Registry()));
  });

  afterEach(async () => {
    await redis.del(partitionKeys(collection.name).stream);
    redis.disconnect();
  });

  const add = (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) => redis.xadd(partitionKeys(collection.name).stream, '*', 'n', String(i))),
    );

  it('counts undelivered and pending entries', async () => {
    const stream = partitionKeys(collection.name).stream;
    await add(5);
    await redis.xgroup('CREATE', stream, 'spillway', '0');
    await redis.xreadgroup('GROUP', 'spillway', 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    await stats.refresh();

    expect(stats.get(collection.name)).toMatchObject({ length: 5, pending: 2, backlog: 5 });
  });

  it('says 0 once the group has read everything, even when Redis still reports a lag', async () => {
    const stream = partitionKeys(collection.name).stream;
    await add(5);
    // A group at the last entry whose read counter is behind: what an AOF reload left in the chaos run.
    await redis.xgroup('CREATE', stream, 'spillway', '$', 'ENTRIESREAD', 0);
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    const [group = []] = groups;
    expect(group[group.indexOf('lag') + 1]).toBe(5);
    await stats.refresh();

    expect(stats.get(collection.name)).toMatchObject({ pending: 0, backlog: 0 });
  });
});
