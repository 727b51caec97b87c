import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { rateLimitKey } from '@app/contracts';
import { testServers } from '../../../../test/utils/servers';
import { openRedis } from '../redis.connection';

/** 10 requests a second: one every 100 ms, and a burst of 10 (tolerance of 9 intervals). */
const INTERVAL_US = 100_000;
const TOLERANCE_US = 9 * INTERVAL_US;

/** limitRate-1.lua (GCRA) against a real Redis. Real: Redis. Mocked: nothing. */
describe('limitRate', () => {
  let redis: Redis;
  let key: string;

  beforeAll(() => {
    redis = openRedis(testServers().redisUrl);
  });

  afterAll(() => redis.quit());

  beforeEach(() => {
    key = rateLimitKey(`test-${randomUUID()}`);
  });

  afterEach(() => redis.del(key));

  it('lets a burst of one second of requests through at once, then refuses with the wait until the next', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => redis.limitRate(key, INTERVAL_US, TOLERANCE_US)),
    );

    expect(answers.slice(0, 10)).toEqual(Array(10).fill(0));
    for (const wait of answers.slice(10)) {
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(100);
    }
  });

  it('lets one more through each interval, and a refused request does not push the client back', async () => {
    for (let i = 0; i < 10; i++) await redis.limitRate(key, INTERVAL_US, TOLERANCE_US);
    for (let i = 0; i < 20; i++) expect(await redis.limitRate(key, INTERVAL_US, TOLERANCE_US)).toBeGreaterThan(0);

    await sleep(120);

    expect(await redis.limitRate(key, INTERVAL_US, TOLERANCE_US)).toBe(0);
    expect(await redis.limitRate(key, INTERVAL_US, TOLERANCE_US)).toBeGreaterThan(0);
  });

  it('keeps its key only until the client is back to its steady pace', async () => {
    await redis.limitRate(key, INTERVAL_US, TOLERANCE_US);
    const ttl = await redis.pttl(key);

    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(102);
    await sleep(150);
    expect(await redis.exists(key)).toBe(0);
  });

  it('keeps the key in the slot of its own hash tag', () => {
    expect(rateLimitKey('key3')).toBe('spw:{rate:key3}:limit');
  });
});
