import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { testServers } from '../../../../test/utils/servers';
import { openRedis } from '../redis.connection';

/** holdLease-1.lua against a real Redis. Real: Redis. Mocked: nothing. */
describe('holdLease', () => {
  let redis: Redis;
  let key: string;

  beforeAll(() => {
    redis = openRedis(testServers().redisUrl);
  });

  afterAll(() => redis.quit());

  beforeEach(() => {
    key = `{test-${randomUUID()}}:lease`;
  });

  afterEach(() => redis.del(key));

  it('gives places up to the room, renews a holder, and refuses a newcomer when full', async () => {
    expect((await redis.holdLease(key, 'a', 5000, 2))[0]).toBe(1);
    expect((await redis.holdLease(key, 'b', 5000, 2))[0]).toBe(1);

    const [refused, now, members] = await redis.holdLease(key, 'c', 5000, 2);
    const [renewed] = await redis.holdLease(key, 'a', 5000, 2);

    expect({ refused, renewed, members }).toEqual({ refused: 0, renewed: 1, members: ['a', 'b'] });
    expect(Math.abs(Number(now) - Date.now())).toBeLessThan(5000);
    expect(await redis.pttl(key)).toBeGreaterThan(4000);
  });

  it('keeps a holder whose room has shrunk, and has no limit with room 0', async () => {
    await redis.holdLease(key, 'a', 5000, 3);
    await redis.holdLease(key, 'b', 5000, 3);

    expect((await redis.holdLease(key, 'b', 5000, 1))[0]).toBe(1);
    expect((await redis.holdLease(key, 'c', 5000, 0))[2]).toEqual(['a', 'b', 'c']);
  });

  it('lets a lapsed place be taken over, and the key expire with its last member', async () => {
    await redis.holdLease(key, 'a', 150, 1);
    expect((await redis.holdLease(key, 'b', 5000, 1))[0]).toBe(0);

    await sleep(200);

    expect(await redis.holdLease(key, 'b', 150, 1)).toEqual([1, expect.any(Number), ['b']]);
    await sleep(200);
    expect(await redis.exists(key)).toBe(0);
  });
});
