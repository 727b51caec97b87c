import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisConnectionSettings } from '@app/config';
import { type RedisServer, startRedis } from '../../../tools/local-stack';
import { openRedis } from './redis.connection';
import type { RedisClient } from './redis-client';

/**
 * A Sentinel with a password of its own (`requirepass`, REDIS_SENTINEL_PASSWORD) in front of a master without one.
 * Real: redis-server as master and as Sentinel.
 */
describe('Sentinels with a password', () => {
  let dir: string;
  let master: RedisServer;
  let sentinel: RedisServer;
  const clients: RedisClient[] = [];

  const settings = (password?: string): RedisConnectionSettings => ({
    url: 'redis://ignored',
    tls: false,
    sentinel: {
      nodes: [{ host: '127.0.0.1', port: sentinel.port }],
      masterName: 'spw',
      ...(password === undefined ? {} : { password }),
    },
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-sentinel-password-'));
    master = await startRedis({ dir: join(dir, 'master') });
    const configFile = join(dir, 'sentinel.conf');
    writeFileSync(configFile, `sentinel monitor spw 127.0.0.1 ${master.port} 1\nrequirepass sentinel-secret\n`);
    sentinel = await startRedis({ dir: join(dir, 'sentinel'), configFile, extraArgs: ['--sentinel'] });
  });

  afterAll(async () => {
    clients.forEach((client) => client.disconnect());
    await sentinel?.stop();
    await master?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the master through Sentinels that need REDIS_SENTINEL_PASSWORD', async () => {
    const redis = openRedis(settings('sentinel-secret'));
    clients.push(redis);

    await redis.set('found-through-sentinel', 'yes');
    expect(await redis.get('found-through-sentinel')).toBe('yes');
  });

  it('does not reach the master when the Sentinels refuse it for want of the password', async () => {
    const redis = openRedis(settings(), { failFast: true });
    clients.push(redis);
    const errors: string[] = [];
    redis.on('error', (error: Error) => errors.push(error.message));

    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(redis.status).not.toBe('ready');
    expect(errors.join('\n')).toMatch(/NOAUTH/);
    await expect(redis.ping()).rejects.toThrow();
  });
});
