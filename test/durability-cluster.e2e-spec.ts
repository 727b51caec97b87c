/**
 * The `replicated` and `persisted` durability levels on a Redis Cluster (3 masters, 1 replica each) with the
 * collections in 8 partitions, so one `_bulk` spans every master: one WAIT per partition slot, sent to that slot's
 * master on the connection its writes went on, and commit notices PUBLISHed by a sink process on whichever node,
 * heard by ingest's one subscriber.
 *
 * Real: ingest app (in-process), the cluster, the run's PostgreSQL, a sink process (the built app). Mocked: nothing.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Pool } from 'pg';
import { documentKeys } from '@app/contracts';
import { AppProcess, type RedisClusterServer, slotOfKey, startRedisCluster } from '../tools/local-stack';
import { bootIngest, send, type SendOptions } from './utils/api-helpers';
import { testServers } from './utils/servers';

const WAIT_TIMEOUT_MS = 1000;
const DOCS = `durc_docs_${randomUUID().slice(0, 8)}`;
const newId = () => `c-${randomUUID()}`;

let dir: string;
let cluster: RedisClusterServer;
let app: NestFastifyApplication;
let pg: Pool;
let sink: AppProcess | undefined;
let env: Record<string, string>;

const call = (method: 'PUT' | 'POST' | 'GET', url: string, options?: SendOptions) => send(app, method, url, options);
const bulk = (ids: string[], level: string) =>
  call('POST', `/v1/${DOCS}/_bulk`, {
    body: { ops: ids.map((id) => ({ op: 'put', id, doc: { n: 1 } })) },
    headers: { durability: level },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spillway-durability-cluster-'));
  writeFileSync(join(dir, 'docs.yaml'), `name: ${DOCS}\nkind: document\npartitions: 8\n`);
  cluster = await startRedisCluster();
  pg = new Pool({ connectionString: testServers().databaseUrl, max: 2 });
  env = {
    REDIS_CLUSTER_NODES: cluster.seedNodes,
    DATABASE_URL: testServers().databaseUrl,
    COLLECTIONS_DIR: dir,
    INGEST_WAIT_TIMEOUT_MS: String(WAIT_TIMEOUT_MS),
    INGEST_PERSIST_TIMEOUT_MS: '3000',
  };
  app = await bootIngest(env);
}, 120_000);

afterAll(async () => {
  await sink?.terminate();
  await app?.close();
  await pg?.end();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('durability levels on a Redis Cluster', () => {
  it('answers replicated PUTs, and a _bulk spanning every master once all their replicas hold it', async () => {
    const ids = Array.from({ length: 40 }, newId);

    const one = await call('PUT', `/v1/${DOCS}/${newId()}`, { body: { n: 1 }, headers: { durability: 'replicated' } });
    const many = await bulk(ids, 'replicated');

    expect([one.statusCode, one.headers.durability]).toEqual([202, 'replicated']);
    expect([many.statusCode, many.headers.durability]).toEqual([200, 'replicated']);
  });

  it('waits on the master of each partition: a paused replica holds up only the writes of its master', async () => {
    const [master] = await cluster.masters();
    const replica = (await cluster.replicas()).find((view) => view.masterId === master?.id);
    const pid = replica && cluster.node(replica.port).server.pid;
    if (!master || pid === undefined) throw new Error('no master with a running replica');
    const onMaster = (id: string) => {
      const slot = slotOfKey(documentKeys({ name: DOCS, partitions: 8 }, id).stream);

      return master.slots.some(([from, to]) => slot >= from && slot <= to);
    };
    const ids = Array.from({ length: 60 }, newId);
    const paused = ids.filter(onMaster).slice(0, 5);
    const elsewhere = ids.filter((id) => !onMaster(id)).slice(0, 5);
    expect([paused.length, elsewhere.length]).toEqual([5, 5]);

    process.kill(pid, 'SIGSTOP');
    let answers;
    const started = Date.now();
    try {
      answers = await Promise.all([bulk(elsewhere, 'replicated'), bulk(paused, 'replicated')]);
    } finally {
      process.kill(pid, 'SIGCONT');
    }

    const [fine, stuck] = answers;
    expect([fine.statusCode, fine.headers.durability]).toEqual([200, 'replicated']);
    expect([stuck.statusCode, stuck.headers.durability]).toEqual([200, 'memory']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(WAIT_TIMEOUT_MS - 50);
    expect((await call('GET', `/v1/${DOCS}/${paused[0]}`)).statusCode).toBe(200);
  });

  it('answers persisted once a sink has committed every partition of a _bulk', async () => {
    sink = new AppProcess('durability-cluster-sink', 'sink', { ...env, SINK_BLOCK_MS: '200', LOG_LEVEL: 'warn' });
    await sink.start();
    await sink.waitUntilReady(60_000);
    const ids = Array.from({ length: 40 }, newId);

    const many = await bulk(ids, 'persisted');
    const { rows } = await pg.query<{ id: string }>(`SELECT id FROM ${DOCS} WHERE id = ANY($1)`, [ids]);

    expect([many.statusCode, many.headers.durability, rows.length]).toEqual([200, 'persisted', ids.length]);
  }, 90_000);
});
