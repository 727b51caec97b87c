import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { testServers } from '../../../test/utils/servers';
import { forEachKeyWithPrefix } from './key-scan';
import { openRedis } from './redis.connection';

/**
 * The key scan on one server (test/cluster-mode.int-spec.ts runs it on a Redis Cluster). Real: Redis. Mocked:
 * nothing.
 */
describe(forEachKeyWithPrefix.name, () => {
  let redis: Redis;
  let prefix: string;

  beforeAll(() => {
    redis = openRedis(testServers().redisUrl);
  });

  afterAll(() => redis.quit());

  beforeEach(() => {
    prefix = `spw:{test-${randomUUID()}.0}:doc:`;
  });

  afterEach(() => forEachKeyWithPrefix(redis, prefix.slice(0, -5), async (keys) => void (await redis.unlink(...keys))));

  it('finds every key with the prefix and no other, over several SCAN calls', async () => {
    const ids = Array.from({ length: 2500 }, (_, i) => `d${i}`);
    await redis.mset(...ids.flatMap((id) => [`${prefix}${id}`, '1']));
    await redis.set(prefix.replace('{', '').replace('}', '') + 'x', '1');
    await redis.set(`${prefix.slice(0, -4)}stream`, '1');
    const found: string[] = [];

    await forEachKeyWithPrefix(redis, prefix, (keys) => {
      found.push(...keys);

      return Promise.resolve();
    });

    expect(found.map((key) => key.slice(prefix.length)).sort()).toEqual([...ids].sort());
    await redis.del(prefix.replace('{', '').replace('}', '') + 'x');
  });
});
