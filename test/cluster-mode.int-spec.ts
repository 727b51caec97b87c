import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { Registry } from 'prom-client';
import { type Collection, CollectionRegistry } from '@app/collections';
import { DocField, documentKeys, partitionOf } from '@app/contracts';
import { SpillwayMetrics, StreamStatsService } from '@app/metrics';
import { redisConnectionSettings } from '@app/config';
import { assertClusterServing, forEachKeyWithPrefix, nodeAddress, onServerChange, openRedis } from '@app/redis';
import { AppProcess, type RedisClusterServer, slotOfKey, startRedisCluster } from '../tools/local-stack';
import { expectEventually } from './utils/expect-eventually';
import { PipelineFixture, type Reply } from './utils/pipeline-fixture';
import { testDatabase } from './utils/servers';

const PARTITIONS = 8;

/** An id of `partition` of an 8-partition collection. */
function idIn(partition: number, label: string): string {
  for (;;) {
    const id = `${label}-${randomUUID().slice(0, 8)}`;
    if (partitionOf(id, PARTITIONS) === partition) return id;
  }
}

/** A write refused for Redis: 503 with REDIS_UNAVAILABLE, or with `outcome: unknown`. */
function isRedisRefusal(reply: Reply): boolean {
  return reply.status === 503 && (reply.body.outcome === 'unknown' || /Redis/.test(String(reply.body.detail)));
}

/**
 * Ingest and a sink on a real local Redis Cluster (3 masters, 3 replicas) with collections of 8 partitions: the
 * writes, the keys spread over the masters, readiness, a master SIGKILLed (503 or outcome unknown until its replica
 * takes over, never 202, then writes again), and a sink process draining every partition into PostgreSQL.
 *
 * Real: Redis Cluster (redis-server ×6), PostgreSQL, ingest app in-process, sink process (the built app). Mocked:
 * nothing.
 */
describe('Redis Cluster mode', () => {
  let cluster: RedisClusterServer;
  let fx: PipelineFixture;

  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  beforeEach(async () => {
    fx = new PipelineFixture({}, testDatabase('postgres'), PARTITIONS, cluster);
    await fx.start();
  });

  afterEach(async () => {
    await fx.close();
  });

  const put = (id: string, doc: Record<string, unknown> = { owner: 'o' }) =>
    fx.request('PUT', `/v1/${fx.docs}/${id}`, doc);

  /** Every document key of the docs collection, by the master holding it. */
  const documentKeysByMaster = async (): Promise<Map<string, string[]>> => {
    const byMaster = new Map<string, string[]>();
    for (const master of (fx.redis as Cluster).nodes('master')) {
      const keys: string[] = [];
      await forEachKeyWithPrefix(master, `spw:{${fx.docs}.`, (batch) => {
        keys.push(...batch.filter((key) => key.includes(':doc:')));

        return Promise.resolve();
      });
      if (keys.length > 0) byMaster.set(nodeAddress(master), keys);
    }

    return byMaster;
  };

  it('takes PUT, GET, _bulk and events, and the partitions land on several masters', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `doc-${i}`);
    for (const id of ids) expect((await put(id, { owner: id })).status).toBe(202);
    const read = await fx.request('GET', `/v1/${fx.docs}/doc-7`);
    expect(read).toMatchObject({ status: 200, body: { owner: 'doc-7' } });
    const patched = await fx.request('PATCH', `/v1/${fx.docs}/doc-7`, { colour: 'red' });
    expect(patched).toMatchObject({ status: 202, body: { version: 2 } });
    const event = await fx.request('POST', `/v1/${fx.events}`, { id: 'evt-1', kind: 'click' });
    expect(event.status).toBe(202);

    const byMaster = await documentKeysByMaster();
    const written = ids.map((id) => documentKeys({ name: fx.docs, partitions: PARTITIONS }, id).document).sort();
    expect(byMaster.size).toBeGreaterThan(1);
    expect([...byMaster.values()].flat().sort()).toEqual(written);
    const batches: string[][] = [];
    await forEachKeyWithPrefix(fx.redis, `spw:{${fx.docs}.`, (batch) => {
      batches.push(batch);

      return Promise.resolve();
    });
    expect(
      batches
        .flat()
        .filter((key) => key.includes(':doc:'))
        .sort(),
    ).toEqual(written);
    for (const batch of batches) expect(new Set(batch.map(slotOfKey)).size).toBe(1);
    const partitionsWritten = new Set(ids.map((id) => partitionOf(id, PARTITIONS)));
    expect(partitionsWritten.size).toBe(PARTITIONS);
  });

  it('lands _bulk items of every partition, and events once each', async () => {
    const ops = Array.from({ length: 4 * PARTITIONS }, (_, i) => ({
      op: 'put',
      id: idIn(i % PARTITIONS, 'bulk'),
      doc: { owner: `b${i}` },
    }));

    const bulk = await fx.request('POST', `/v1/${fx.docs}/_bulk`, { ops });
    const events = Array.from({ length: 2 * PARTITIONS }, (_, i) => ({ id: idIn(i % PARTITIONS, 'e'), n: i }));
    const bulkEvents = await fx.request('POST', `/v1/${fx.events}/_bulk`, { events: [...events, events[0]] });

    expect(bulk.status).toBe(200);
    expect(bulk.body.results).toEqual(ops.map(({ id }) => ({ id, version: 1 })));
    for (const { id, doc } of ops) {
      expect(await fx.request('GET', `/v1/${fx.docs}/${id}`)).toMatchObject({ status: 200, body: doc });
    }
    expect(bulkEvents.status).toBe(200);
    let appended = 0;
    for (const { stream } of fx.partitionsOf(fx.events)) appended += await fx.redis.xlen(stream);
    expect(appended).toBe(events.length);
    const collection = { name: fx.events, kind: 'event', partitions: PARTITIONS } as Collection;
    const stats = new StreamStatsService(
      fx.redis,
      new CollectionRegistry([collection]),
      new SpillwayMetrics(new Registry()),
    );
    await stats.refresh();
    expect(stats.get(fx.events)).toMatchObject({ length: events.length, backlog: events.length, deadLetters: 0 });
  });

  it('is ready while every master answers and the cluster state is ok', async () => {
    const ready = await fx.request('GET', '/health/ready');

    expect(ready).toMatchObject({ status: 200, body: { info: { redis: { status: 'up' } } } });
    await expect(assertClusterServing(fx.redis as Cluster)).resolves.toBeUndefined();
  });

  it('drains every partition into PostgreSQL with a sink process on the cluster', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `s-${i}`);
    for (const id of ids) expect((await put(id, { owner: id })).status).toBe(202);
    for (const id of ids.slice(0, 10)) expect((await fx.request('DELETE', `/v1/${fx.docs}/${id}`)).status).toBe(202);
    const events = ids.map((id) => ({ id: `e-${id}`, n: 1 }));
    expect((await fx.request('POST', `/v1/${fx.events}/_bulk`, { events })).status).toBe(200);
    const sink = new AppProcess('sink-cluster', 'sink', { ...fx.sinkEnv, SINK_CONSUMER: 'sink-cluster' });
    try {
      await sink.start();
      await sink.waitUntilReady(30_000);

      await expectEventually(async () => {
        expect(await fx.backlog(fx.docs)).toBe(0);
        expect(await fx.backlog(fx.events)).toBe(0);
      }, 60_000);
      const [inRedis, inTable] = await Promise.all([fx.redisDocuments(), fx.tableRows()]);
      expect([...inTable.keys()].sort()).toEqual(ids.slice(10).sort());
      expect([...inRedis.keys()].sort()).toEqual(ids.slice(10).sort());
      for (const [id, expected] of inRedis) expect(inTable.get(id), id).toEqual(expected);
      expect(await fx.eventIds()).toEqual(events.map(({ id }) => id).sort());
      // The sink's maintenance trims what the group acked, partition by partition.
      await expectEventually(async () => {
        let left = 0;
        for (const { stream } of fx.partitionsOf(fx.docs)) left += await fx.redis.xlen(stream);
        expect(left).toBe(0);
      }, 20_000);
    } finally {
      await sink.terminate();
    }
  }, 120_000);

  it('goes on writing while the slot of a partition moves to another master: 202 or 503, never a lost 202', async () => {
    const partition = 5;
    const { stream } = fx.partitionsOf(fx.docs)[partition]!;
    const source = await cluster.masterOfKey(stream);
    const target = (await cluster.masters()).find((master) => master.id !== source.id)!;
    const ids = Array.from({ length: 60 }, () => idIn(partition, 'move'));
    for (const id of ids) expect((await put(id)).status).toBe(202);
    const accepted = new Map<string, number>();
    const statuses: number[] = [];
    let moving = true;

    const writing = (async () => {
      for (let i = 0; moving || i < ids.length; i++) {
        const id = ids[i % ids.length]!;
        const reply = await put(id, { owner: `w${i}` });
        statuses.push(reply.status);
        if (reply.status === 202) accepted.set(id, reply.body.version);
        else expect(isRedisRefusal(reply), JSON.stringify(reply)).toBe(true);
      }
    })();
    const moved = await cluster.moveSlot(slotOfKey(stream), target.port, 1).finally(() => (moving = false));
    await writing;

    expect(moved).toBeGreaterThan(ids.length);
    expect((await cluster.masterOfKey(stream)).id).toBe(target.id);
    expect(statuses.length).toBeGreaterThanOrEqual(ids.length);
    for (const [id, version] of accepted) {
      const read = await fx.request('GET', `/v1/${fx.docs}/${id}`);
      expect(read.status).toBe(200);
      const key = documentKeys({ name: fx.docs, partitions: PARTITIONS }, id).document;
      expect(Number(await fx.redis.hget(key, DocField.VERSION)), id).toBeGreaterThanOrEqual(version);
    }
  }, 120_000);

  it('answers 503 for a slot whose master was killed, never 202, until its replica takes over', async () => {
    const partition = 3;
    const { stream } = fx.partitionsOf(fx.docs)[partition]!;
    const master = await cluster.masterOfKey(stream);
    const replica = (await cluster.replicas()).find((node) => node.masterId === master.id);
    expect(replica, 'the master has a replica').toBeDefined();
    for (let i = 0; i < 20; i++) expect((await put(idIn(partition, 'warm'))).status).toBe(202);
    await cluster.waitForReplication();
    // A sink's reader on the partition, told when its server may have changed.
    const reader = openRedis(
      redisConnectionSettings({ REDIS_URL: 'redis://x', REDIS_CLUSTER_NODES: cluster.seedNodes }),
      {
        blocking: true,
      },
    );
    reader.on('error', () => undefined);
    expect(await reader.xlen(stream)).toBe(20);
    let serverChanges = 0;
    onServerChange(reader, stream, () => serverChanges++);

    await cluster.kill(master.port);
    let takeoverAt = Number.POSITIVE_INFINITY;
    const watching = (async () => {
      while (takeoverAt === Number.POSITIVE_INFINITY) {
        const self = (await cluster.topology(replica!.port)).find((node) => node.id === replica!.id);
        if (self?.role === 'master') takeoverAt = Date.now();
        else await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    const notReady = await fx.request('GET', '/health/ready');
    const answers: { reply: Reply; at: number; id: string }[] = [];
    while (takeoverAt === Number.POSITIVE_INFINITY) {
      const id = idIn(partition, 'outage');
      const reply = await put(id);
      answers.push({ reply, at: Date.now(), id });
    }
    await watching;
    await cluster.waitForFailover();

    const beforeTakeover = answers.filter(({ at }) => at < takeoverAt);
    expect(notReady.status).toBe(503);
    expect(beforeTakeover.length).toBeGreaterThan(0);
    for (const { reply } of beforeTakeover) expect(isRedisRefusal(reply), JSON.stringify(reply)).toBe(true);
    await expectEventually(async () => expect((await put(idIn(partition, 'after'))).status).toBe(202), 20_000);
    for (const { id } of answers.filter(({ reply }) => reply.status === 202)) {
      expect(await fx.request('GET', `/v1/${fx.docs}/${id}`)).toMatchObject({ status: 200 });
    }
    await expectEventually(async () => expect((await fx.request('GET', '/health/ready')).status).toBe(200), 20_000);
    expect(await reader.xlen(stream)).toBeGreaterThanOrEqual(20);
    expect(serverChanges).toBeGreaterThan(0);
    reader.disconnect();
    await cluster.restart(master.port);
  }, 120_000);
});
