import { Cluster, Redis } from 'ioredis';
import { CLUSTER_SLOTS, LOOPBACK_HOST, RedisClusterServer, slotOfKey, startRedisCluster } from '../tools/local-stack';

/**
 * What the cluster specs, chaos and bench rely on from startRedisCluster(): 3 masters with a replica each serving
 * every slot, keys where masterOfKey() says, failovers (CLUSTER FAILOVER, and a SIGKILL of a master) that keep the
 * replicated keys and take writes after, a killed master rejoining as a replica, and slots moving between masters
 * (a chosen one while a client writes to it, and redis-cli's reshard) with nothing lost. The its run in order on
 * one cluster: each starts from the topology the one before left.
 *
 * Real: a Redis Cluster of 6 redis-server processes and ioredis's Cluster client. Mocked: nothing.
 */
describe(RedisClusterServer.name, () => {
  let sut: RedisClusterServer;
  let client: Cluster;
  const written = new Map<string, string>();
  const direct: Redis[] = [];

  const write = async (prefix: string, count: number) => {
    for (let i = 0; i < count; i++) {
      const key = `${prefix}-${i}`;
      await client.set(key, `value of ${key}`);
      written.set(key, `value of ${key}`);
    }
  };
  const expectEveryWrittenKey = async () => {
    const keys = [...written.keys()];
    const values = await Promise.all(keys.map((key) => client.get(key)));

    expect(values).toEqual(keys.map((key) => written.get(key)));
  };
  const connectTo = (port: number) => {
    const redis = new Redis({ host: LOOPBACK_HOST, port, lazyConnect: true, maxRetriesPerRequest: 0 });
    direct.push(redis);

    return redis;
  };

  beforeAll(async () => {
    sut = await startRedisCluster();
    client = new Cluster(sut.startupNodes);
  });

  afterEach(() => {
    for (const redis of direct.splice(0)) redis.disconnect();
  });

  afterAll(async () => {
    client?.disconnect();
    await sut?.stop();
  });

  it('starts 3 masters with a replica each, serving all 16384 slots, with full coverage required', async () => {
    const [masters, replicas] = [await sut.masters(), await sut.replicas()];

    expect(sut.seedNodes).toMatch(/^(127\.0\.0\.1:\d+,){5}127\.0\.0\.1:\d+$/);
    expect(sut.nodes).toHaveLength(6);
    expect(masters).toHaveLength(3);
    expect(replicas.map(({ masterId }) => masterId).sort()).toEqual(masters.map(({ id }) => id).sort());
    expect(masters.flatMap(({ slots }) => slots).reduce((sum, [start, end]) => sum + end - start + 1, 0)).toBe(
      CLUSTER_SLOTS,
    );
    for (const { port } of sut.nodes) {
      expect(await connectTo(port).config('GET', 'cluster-require-full-coverage')).toEqual([
        'cluster-require-full-coverage',
        'yes',
      ]);
    }
  });

  it('stores keys of many slots on the master that masterOfKey() names', async () => {
    await write('key', 60);

    const keys = [...written.keys()];
    const owners = await Promise.all(keys.map((key) => sut.masterOfKey(key)));
    const fromOwners = await Promise.all(keys.map((key, i) => connectTo(owners[i]?.port ?? 0).get(key)));

    expect(new Set(keys.map(slotOfKey)).size).toBeGreaterThan(50);
    expect(new Set(owners.map(({ port }) => port)).size).toBe(3);
    expect(fromOwners).toEqual(keys.map((key) => written.get(key)));
  });

  it('keeps every key through a CLUSTER FAILOVER and takes writes after it', async () => {
    await sut.waitForReplication();
    const oldMaster = await sut.masterOfKey('key-0');
    const replica = (await sut.replicas()).find(({ masterId }) => masterId === oldMaster.id);

    await sut.failover(replica?.port ?? 0);

    expect((await sut.masterOfKey('key-0')).port).toBe(replica?.port);
    expect(sut.node(oldMaster.port).role).toBe('replica');
    expect((await sut.replicas()).find(({ id }) => id === oldMaster.id)?.masterId).toBe(replica?.id);
    await expectEveryWrittenKey();
    await write('after-failover', 20);
    await expectEveryWrittenKey();
  });

  it('refuses writes while a killed master has no successor, then serves every replicated key', async () => {
    await sut.waitForReplication();
    const killed = await sut.masterOfKey('key-1');
    const replica = (await sut.replicas()).find(({ masterId }) => masterId === killed.id);
    const bystander = (await sut.masters()).find(({ id }) => id !== killed.id);
    const ownKey = [...written.keys()].find((key) =>
      bystander?.slots.some(([start, end]) => start <= slotOfKey(key) && slotOfKey(key) <= end),
    );
    const refusals = new Set<string>();
    let failedOver = false;

    await sut.kill(killed.port);
    const probe = (async () => {
      const redis = connectTo(bystander?.port ?? 0);
      while (!failedOver) {
        await redis.set(ownKey ?? '', 'probe').catch((error: Error) => refusals.add(error.message.split(' ')[0] ?? ''));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await redis.set(ownKey ?? '', written.get(ownKey ?? '') ?? '');
    })();
    await sut.waitForFailover();
    failedOver = true;
    await probe;

    expect([...refusals]).toEqual(['CLUSTERDOWN']);
    expect((await sut.masterOfKey('key-1')).port).toBe(replica?.port);
    await expectEveryWrittenKey();
    await write('after-kill', 20);
    await expectEveryWrittenKey();
  });

  it('brings a killed master back as a replica of its successor', async () => {
    const killed = sut.nodes.find(({ server }) => !server.running);

    await sut.restart(killed?.port ?? 0);

    expect(sut.node(killed?.port ?? 0).role).toBe('replica');
    expect(await sut.masters()).toHaveLength(3);
    expect(await sut.replicas()).toHaveLength(3);
    await expectEveryWrittenKey();
  });

  it('moves the slot of a hash-tagged key to another master while a client writes to it, losing no write', async () => {
    const tag = '{moving}';
    const slot = slotOfKey(`${tag}:log`);
    const from = await sut.masterOfSlot(slot);
    const to = (await sut.masters()).find(({ id }) => id !== from.id);
    const preloaded = 1000;
    const pipeline = client.pipeline();
    for (let i = 0; i < preloaded; i++) pipeline.set(`${tag}:preloaded:${i}`, i);
    await pipeline.exec();
    const acknowledged: number[] = [];
    let moving = true;
    const writer = (async () => {
      for (let i = 0; moving; i++) {
        await client.rpush(`${tag}:log`, i);
        await client.set(`${tag}:written:${i}`, i);
        acknowledged.push(i);
      }
    })();
    while (acknowledged.length < 10) await new Promise((resolve) => setTimeout(resolve, 5));
    const writtenBefore = acknowledged.length;

    const moved = await sut.moveSlot(slot, to?.port ?? 0);
    const writtenDuring = acknowledged.length - writtenBefore;
    moving = false;
    await writer;

    expect(writtenDuring).toBeGreaterThan(0);
    expect(moved).toBeGreaterThanOrEqual(preloaded);
    expect((await sut.masterOfSlot(slot)).port).toBe(to?.port);
    expect((await client.lrange(`${tag}:log`, 0, -1)).map(Number)).toEqual(acknowledged);
    const count = (port: number) => connectTo(port).call('CLUSTER', 'COUNTKEYSINSLOT', slot);
    expect(await count(to?.port ?? 0)).toBe(preloaded + acknowledged.length + 1);
    expect(await count(from.port)).toBe(0);
    const values = await Promise.all(acknowledged.map((i) => client.get(`${tag}:written:${i}`)));
    expect(values).toEqual(acknowledged.map(String));
  });

  it("reshards slots between masters with redis-cli's reshard, keys and all", async () => {
    const [from, to] = await sut.masters();
    const ownedBefore = (to?.slots ?? []).reduce((sum, [start, end]) => sum + end - start + 1, 0);

    const moved = await sut.reshard({ from: from?.port ?? 0, to: to?.port ?? 0, slots: 200 });

    expect(moved).toHaveLength(200);
    const after = (await sut.masters()).find(({ id }) => id === to?.id);
    expect(after?.slots.reduce((sum, [start, end]) => sum + end - start + 1, 0)).toBe(ownedBefore + 200);
    await expectEveryWrittenKey();
  });
});
