import { setTimeout as sleep } from 'node:timers/promises';
import { redisConnectionSettings } from '@app/config';
import { onServerChange, openRedis, type RedisClient } from '@app/redis';
import { RedisSentinelSetup, startRedisSentinel } from '../tools/local-stack';
import { expectEventually } from './utils/expect-eventually';

/**
 * The Sentinel harness (tools/local-stack/redis-sentinel.ts) and Spillway's connections to it (openRedis with
 * REDIS_SENTINELS and REDIS_SENTINEL_NAME): the apps' clients find the master through the Sentinels; when it is
 * SIGKILLed, a fail-fast client refuses commands at once until the replica is promoted and then writes to it, a
 * blocking reader waits and reads on from the new master, and the sink's server-change listener fires; the killed
 * node comes back as a replica, and a graceful SENTINEL FAILOVER is followed too. The its run in order on one setup.
 *
 * Real: a primary, a replica and 3 Sentinels (redis-server), ioredis. Mocked: nothing.
 */
describe(RedisSentinelSetup.name, () => {
  let sut: RedisSentinelSetup;
  let ingest: RedisClient;
  let reader: RedisClient;
  let serverChanges = 0;

  beforeAll(async () => {
    sut = await startRedisSentinel();
    const settings = redisConnectionSettings({
      REDIS_URL: 'redis://127.0.0.1',
      REDIS_SENTINELS: sut.sentinelAddresses,
      REDIS_SENTINEL_NAME: sut.masterName,
    });
    ingest = openRedis(settings, { failFast: true, name: 'spec-ingest' });
    reader = openRedis(settings, { blocking: true, name: 'spec-reader' });
    for (const client of [ingest, reader]) client.on('error', () => undefined);
    onServerChange(reader, 'spec-stream', () => serverChanges++);
    await expectEventually(async () => expect(await ingest.ping()).toBe('PONG'), 10_000);
  }, 60_000);

  afterAll(async () => {
    ingest?.disconnect();
    reader?.disconnect();
    await sut?.stop();
  });

  it('starts a primary with its replica and 3 Sentinels that agree on it', async () => {
    const master = await sut.master();

    expect(sut.sentinelAddresses).toMatch(/^(127\.0\.0\.1:\d+,){2}127\.0\.0\.1:\d+$/);
    expect(master.port).toBe(sut.servers[0]?.port);
    expect(await sut.roleOf(master.port)).toBe('master');
    expect((await sut.replicas()).map(({ port }) => port)).toEqual([sut.servers[1]?.port]);
    expect(await sut.roleOf(sut.servers[1]!.port)).toBe('replica');
  });

  it('a SIGKILLed master: fail-fast refusals while none is there, then writes on the promoted replica; the blocking reader reads on', async () => {
    await ingest.set('before', '1');
    await sut.waitForReplication();
    const blocked = reader.xread('BLOCK', 0, 'STREAMS', 'spec-stream', '$');
    await sleep(200);
    const changesBefore = serverChanges;
    const killed = await sut.killMaster();

    await expect(ingest.set('during', '1')).rejects.toThrow();
    const promoted = await sut.waitForFailover(killed.port);
    expect(promoted.port).not.toBe(killed.port);
    await expectEventually(async () => expect(await ingest.set('after', '1')).toBe('OK'), 10_000);
    expect(await ingest.get('before')).toBe('1');
    await ingest.xadd('spec-stream', '*', 'n', '1');
    const [[stream, entries] = ['', []]] = ((await blocked) ?? []) as [string, [string, string[]][]][];
    expect(stream).toBe('spec-stream');
    expect(entries.map(([, fields]) => fields)).toEqual([['n', '1']]);
    expect(serverChanges).toBeGreaterThan(changesBefore);

    await sut.restart(killed.port);
    expect(await sut.roleOf(killed.port)).toBe('replica');
  }, 60_000);

  it('a graceful SENTINEL FAILOVER: the clients follow the new master', async () => {
    const before = await sut.masterPort();
    const promoted = await sut.promote();

    expect(promoted.port).not.toBe(before);
    await expectEventually(async () => expect(await ingest.set('graceful', '1')).toBe('OK'), 10_000);
    expect(await sut.roleOf(before)).toBe('replica');
    expect(await ingest.get('after')).toBe('1');
  }, 60_000);
});
