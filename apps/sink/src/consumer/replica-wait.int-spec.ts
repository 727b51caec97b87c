import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { partitionKeys } from '@app/contracts';
import { openRedis } from '@app/redis';
import { type RedisServer, startRedis } from '../../../../tools/local-stack';
import { expectEventually } from '../../../../test/utils/expect-eventually';
import { ReplicaWait, replicasInRole } from './replica-wait';

/** A master and its replica, both real redis-servers; the replica is paused (SIGSTOP) to hold replication back. */
describe(ReplicaWait.name, () => {
  let dir: string;
  let master: RedisServer;
  let replica: RedisServer | undefined;
  let redis: Redis;
  let replicaClient: Redis | undefined;
  const keys = partitionKeys('replica_wait', 0);
  const notStopping = () => false;
  const settings = { waitReplicas: 1, missingReplicaWaitMs: 3000 };

  const startReplica = async () => {
    replica = await startRedis({
      dir: join(dir, 'replica'),
      extraArgs: ['--replicaof', '127.0.0.1', String(master.port)],
    });
    replicaClient = openRedis(replica.url);
    await expectEventually(async () => expect(replicasInRole(await redis.role())).toBe(1), 10_000);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-replica-wait-'));
    master = await startRedis({ dir: join(dir, 'master') });
    redis = openRedis(master.url);
  });

  afterAll(async () => {
    replica?.kill('SIGCONT');
    replicaClient?.disconnect();
    redis.disconnect();
    await replica?.stop();
    await master.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a batch through at once while the master has no replica', async () => {
    const wait = new ReplicaWait(redis, keys.replicationMark, settings);
    const held: number[] = [];
    const started = Date.now();

    await expect(wait.replicated(notStopping, (n) => held.push(n))).resolves.toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(held).toEqual([]);
  });

  it('resolves once the replica holds every entry read before it', async () => {
    await startReplica();
    const wait = new ReplicaWait(redis, keys.replicationMark, settings);
    const id = await redis.xadd(keys.stream, '*', 'n', '1');

    await expect(wait.replicated(notStopping, () => undefined)).resolves.toBe(true);
    const onReplica = await replicaClient?.xrange(keys.stream, id ?? '-', id ?? '+');
    expect(onReplica?.map(([entryId]) => entryId)).toEqual([id]);
  });

  it('holds the batch while the replica lags, and lets it go once the replica has it', async () => {
    const wait = new ReplicaWait(redis, keys.replicationMark, settings);
    await wait.replicated(notStopping, () => undefined); // learns that one replica is connected
    replica?.kill('SIGSTOP');
    const id = await redis.xadd(keys.stream, '*', 'n', '2');
    const held: number[] = [];
    let settled = false;
    const waiting = wait
      .replicated(notStopping, (n) => held.push(n))
      .finally(() => {
        settled = true;
      });

    await expectEventually(() => expect(held).toEqual([1]), 5000);
    expect(settled).toBe(false);
    replica?.kill('SIGCONT');
    await expect(waiting).resolves.toBe(true);
    const onReplica = await replicaClient?.xrange(keys.stream, id ?? '-', id ?? '+');
    expect(onReplica).toHaveLength(1);
  });

  it('gives up when the sink stops while the replica lags, leaving the batch unwritten', async () => {
    const wait = new ReplicaWait(redis, keys.replicationMark, settings);
    await wait.replicated(notStopping, () => undefined);
    replica?.kill('SIGSTOP');
    try {
      await redis.xadd(keys.stream, '*', 'n', '3');

      await expect(
        wait.replicated(
          () => true,
          () => undefined,
        ),
      ).resolves.toBe(false);
    } finally {
      replica?.kill('SIGCONT');
    }
  });

  it('holds the batch for a replica cut off from its master, until SINK_MISSING_REPLICA_WAIT_MS passes', async () => {
    const wait = new ReplicaWait(redis, keys.replicationMark, settings);
    await wait.replicated(notStopping, () => undefined);
    replica?.kill('SIGSTOP');
    try {
      await redis.call('CLIENT', 'KILL', 'TYPE', 'replica'); // the master no longer lists it: as a network cut would do
      await redis.xadd(keys.stream, '*', 'n', '5');
      const started = Date.now();

      await expect(wait.replicated(notStopping, () => undefined)).resolves.toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(settings.missingReplicaWaitMs);
      expect(replicasInRole(await redis.role())).toBe(0);
    } finally {
      replica?.kill('SIGCONT');
    }
    await expectEventually(async () => expect(replicasInRole(await redis.role())).toBe(1), 10_000);
  });

  it('waits for no replica when SINK_WAIT_REPLICAS is 0', async () => {
    const wait = new ReplicaWait(redis, keys.replicationMark, { ...settings, waitReplicas: 0 });
    replica?.kill('SIGSTOP');
    try {
      await redis.xadd(keys.stream, '*', 'n', '4');

      await expect(wait.replicated(notStopping, () => undefined)).resolves.toBe(true);
    } finally {
      replica?.kill('SIGCONT');
    }
  });
});
