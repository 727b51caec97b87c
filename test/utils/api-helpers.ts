/**
 * Helpers for test/api.e2e-spec.ts: boot the ingest app in-process, send requests through Fastify's inject (or as
 * raw bytes on a socket), check RFC 9457 problem answers, and snapshot what Redis (one server or a Redis Cluster)
 * holds for a document so a spec can prove that a refused request changed nothing.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Cluster, Redis } from 'ioredis';
import { allPartitions, documentKeys, type PartitionedCollection, partitionOf } from '@app/contracts';
import { forEachKeyWithPrefix, type RedisClient } from '@app/redis';
import { createIngestApp } from '../../apps/ingest/src/ingest.app';
import { type RedisClusterServer, startRedis } from '../../tools/local-stack';

export type Method = 'GET' | 'PUT' | 'PATCH' | 'DELETE' | 'POST';

/** What inject answers, trimmed to what the specs read. */
export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
  json<T = any>(): T;
}

/**
 * Sets environment variables (undefined removes one) and returns a function that puts back what was there.
 */
export function setEnv(overrides: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(overrides).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(overrides);

  return () => apply(saved);
}

/**
 * Boots the ingest app as a user of createIngestApp() would, with the given environment on top of the
 * process's; the environment is restored once the app is built (it reads its settings at boot only).
 */
export async function bootIngest(env: Record<string, string | undefined> = {}): Promise<NestFastifyApplication> {
  const restore = setEnv(env);
  try {
    const app = await createIngestApp();
    try {
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }

    return app;
  } finally {
    restore();
  }
}

export interface SendOptions {
  /** sent as JSON unless `raw` is given */
  body?: unknown;
  /** a body sent as is */
  raw?: string;
  /** default application/json when there is a body */
  contentType?: string;
  headers?: Record<string, string>;
}

/** One request through Fastify's inject (no network). */
export async function send(
  app: NestFastifyApplication,
  method: Method,
  url: string,
  options: SendOptions = {},
): Promise<ApiResponse> {
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const headers: Record<string, string> = { ...options.headers };
  if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';

  return await app.inject({ method, url, payload, headers });
}

/** Asserts an RFC 9457 answer with the given status (and a detail that matches, or holds, `detail`); returns its body. */
export function expectProblem(
  res: ApiResponse,
  status: number,
  detail?: RegExp | string,
): { type: string; title: string; status: number; detail: string } {
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status });
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json\b/);
  const problem = res.json();
  expect(problem).toEqual(
    expect.objectContaining({
      type: expect.stringMatching(/\S/),
      title: expect.stringMatching(/\S/),
      status,
      detail: expect.stringMatching(/\S/),
    }),
  );
  if (detail) expect(problem.detail).toMatch(detail);

  return problem;
}

/** Asserts a 202 `{id, version}`; returns the version. */
export function expectAccepted(res: ApiResponse, id: string | RegExp, version?: number): number {
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 202 });
  const body = res.json<{ id: string; version: number }>();
  if (typeof id === 'string') expect(body.id).toBe(id);
  else expect(body.id).toMatch(id);
  expect(Number.isInteger(body.version)).toBe(true);
  if (version !== undefined) expect(body.version).toBe(version);

  return body.version;
}

export interface RedisSnapshot {
  /** the length of every partition stream of the collection, summed */
  streamLength: number;
  doc: Record<string, string>;
}

/**
 * Spillway's keys of the collections, as a spec reads them on one server or on a Redis Cluster: an id is routed to its
 * partition (libs/contracts keys.ts), a collection's figures are summed over its partitions, and a read of several
 * keys asks for each one alone (keys of two partitions sit in two cluster slots, which one command cannot span).
 */
export class StoreProbe {
  /** `partitions`: of every collection the spec reads (all of them, or SPILLWAY_PARTITIONS, say the same) */
  constructor(
    readonly redis: RedisClient,
    readonly partitions: number,
  ) {}

  private collection(name: string): PartitionedCollection {
    return { name, partitions: this.partitions };
  }

  partitionOf(id: string): number {
    return partitionOf(id, this.partitions);
  }

  /** The hash of one document. */
  docKey(collection: string, id: string): string {
    return documentKeys(this.collection(collection), id).document;
  }

  /** The stream a write of `id` is appended to. */
  streamOf(collection: string, id: string): string {
    return documentKeys(this.collection(collection), id).stream;
  }

  /** Every partition stream of the collection, partition 0 first. */
  streams(collection: string): string[] {
    return allPartitions(this.collection(collection)).map(({ stream }) => stream);
  }

  /** The collection's entries: every partition stream's length, summed. */
  async streamLength(collection: string): Promise<number> {
    const lengths = await Promise.all(this.streams(collection).map((stream) => this.redis.xlen(stream)));

    return lengths.reduce((sum, length) => sum + length, 0);
  }

  /** How many of `keys` exist (EXISTS of each, summed). */
  async existing(...keys: string[]): Promise<number> {
    const found = await Promise.all(keys.map((key) => this.redis.exists(key)));

    return found.reduce((sum, one) => sum + one, 0);
  }

  /** Every key that starts with `prefix`, sorted: on a cluster, of every master. */
  async keysWithPrefix(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    await forEachKeyWithPrefix(this.redis, prefix, (batch) => {
      keys.push(...batch);

      return Promise.resolve();
    });

    return keys.sort();
  }

  /** The collection's stream length and one document's hash, to compare before and after a refused request. */
  async snapshot(collection: string, id: string): Promise<RedisSnapshot> {
    const [streamLength, doc] = await Promise.all([
      this.streamLength(collection),
      this.redis.hgetall(this.docKey(collection, id)),
    ]);

    return { streamLength, doc };
  }

  /**
   * Entries of a collection that no consumer group has acked yet, figured as the ingest's backlog guard does, summed
   * over the partitions: each stream whole without groups, else its furthest-behind group's pending plus lag.
   */
  async unackedBacklog(collection: string): Promise<number> {
    const backlogs = await Promise.all(this.streams(collection).map((stream) => this.streamBacklog(stream)));

    return backlogs.reduce((sum, backlog) => sum + backlog, 0);
  }

  private async streamBacklog(key: string): Promise<number> {
    const length = await this.redis.xlen(key);
    let groups: unknown[];
    try {
      groups = (await this.redis.xinfo('GROUPS', key)) as unknown[];
    } catch {
      return length;
    }
    if (groups.length === 0) return length;

    return Math.max(
      ...groups.map((raw) => {
        const fields = raw as (string | number | null)[];
        const get = (name: string) => fields[fields.indexOf(name) + 1];
        const lag = get('lag');

        return Number(get('pending')) + (lag === null || lag === undefined ? length : Number(lag));
      }),
    );
  }

  /** The id of the newest entry of each partition stream (`0-0` for an empty one), for {@link entriesAfter}. */
  async streamTails(collection: string): Promise<string[]> {
    return Promise.all(
      this.streams(collection).map(async (stream) => {
        const [newest] = await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1);

        return newest?.[0] ?? '0-0';
      }),
    );
  }

  /** The first field (the entry's header) of every entry after `tails`, partition by partition, in stream order. */
  async entriesAfter(collection: string, tails: string[]): Promise<string[][]> {
    return Promise.all(
      this.streams(collection).map(async (stream, partition) => {
        const entries = await this.redis.xrange(stream, `(${tails[partition] ?? '0-0'}`, '+');

        return entries.map(([, fields]) => fields[0] ?? '');
      }),
    );
  }

  disconnect(): void {
    this.redis.disconnect();
  }
}

/**
 * A client for a {@link StoreProbe}: a Cluster client on `cluster`'s nodes, else one on the server at `url`. RESP2,
 * as the apps speak it (stream replies as flat arrays). Resolves once it can send commands (a cluster client has
 * learnt the slots and the masters that {@link StoreProbe.keysWithPrefix} scans).
 */
export async function openProbeClient(
  target: { url: string } | { cluster: Pick<RedisClusterServer, 'startupNodes'> },
): Promise<RedisClient> {
  const client: RedisClient =
    'url' in target
      ? new Redis(target.url, { protocol: 2 })
      : new Cluster(target.cluster.startupNodes, { redisOptions: { protocol: 2 } });
  // A spec that stops Redis on purpose sees its commands fail; the client's own reconnect errors say nothing more.
  client.on('error', () => undefined);
  await client.ping();

  return client;
}

/**
 * A Redis a spec may stop and start again, with an app on it: a server of its own, or every node of a Redis Cluster
 * the suite started for its variant.
 */
export interface StoppableRedis {
  /** what bootIngest() needs, on top of the environment, to use it */
  readonly env: Record<string, string>;
  /** every server of it stopped (SIGTERM: the AOF is flushed) */
  stop(): Promise<void>;
  /** every server started again on its folder; resolves once it serves (a cluster has settled) */
  start(): Promise<void>;
  /** a new probe on it (partitions as the suite's), to be disconnected after use */
  openProbe(): Promise<StoreProbe>;
  /** frees what it started for the spec (a cluster's owner stops the cluster) */
  close(): Promise<void>;
}

/** A redis-server of its own, AOF fsynced at every write, in a temporary folder. */
export async function startStoppableServer(partitions: number): Promise<StoppableRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-api-redis-'));
  try {
    const server = await startRedis({ dir, appendOnly: true, appendFsync: 'always' });

    return {
      env: { REDIS_URL: server.url },
      stop: () => server.stop(),
      start: () => server.start(),
      openProbe: async () => new StoreProbe(await openProbeClient({ url: server.url }), partitions),
      close: async () => {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Every node of `cluster`, stopped and started all together (no failover can happen: no node is left to vote). */
export function stoppableCluster(cluster: RedisClusterServer, partitions: number): StoppableRedis {
  return {
    env: {},
    stop: async () => {
      await Promise.all(cluster.nodes.map(({ server }) => server.stop()));
    },
    start: async () => {
      await Promise.all(cluster.nodes.map(({ server }) => server.start()));
      await cluster.waitUntilSettled();
    },
    openProbe: async () => new StoreProbe(await openProbeClient({ cluster }), partitions),
    close: () => Promise.resolve(),
  };
}

/** The samples of one Prometheus metric, with their labels. */
export function metricSamples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const samples: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    samples.push({ labels, value: Number(match[3]) });
  }

  return samples;
}

/** What a server answered on a raw connection; `status` is undefined when it closed without answering. */
export interface RawAnswer {
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** the server closed the connection (rather than the client giving up) */
  closedByServer: boolean;
}

export interface RawOptions {
  /** after `head`, write one byte of `dribble` every `dribbleEveryMs`, as a slow client would */
  dribble?: string;
  dribbleEveryMs?: number;
  /** the client gives up after this long (default 5 s) */
  giveUpMs?: number;
}

/**
 * Writes `head` as raw bytes on a new connection to 127.0.0.1:`port` and reads until the server closes the
 * connection (every answer here carries `Connection: close`), for requests inject cannot make: malformed HTTP,
 * oversized headers, bodies that arrive slowly.
 */
export function sendRaw(port: number, head: string | Buffer, options: RawOptions = {}): Promise<RawAnswer> {
  const { dribble, dribbleEveryMs = 1000, giveUpMs = 5000 } = options;

  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sent = 0;
    let closedByServer = true;
    const dribbler =
      dribble === undefined
        ? undefined
        : setInterval(() => socket.write(dribble.charAt(sent++ % dribble.length)), dribbleEveryMs);
    const giveUp = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, giveUpMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server may reset a connection it refuses while the client is still writing; what it answered still counts.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      clearInterval(dribbler);
      clearTimeout(giveUp);
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)?.[1];
      const headers = Object.fromEntries(
        headerLines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({
        status: status === undefined ? undefined : Number(status),
        headers,
        body: rest.join('\r\n\r\n'),
        closedByServer,
      });
    });
    socket.write(head);
  });
}

/** Asserts a raw answer is RFC 9457 with the given status; returns its detail. */
export function expectRawProblem(answer: RawAnswer, status: number, detail?: RegExp): string {
  expect({ status: answer.status, body: answer.body }).toMatchObject({ status });
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json\b/);
  const problem = JSON.parse(answer.body) as { type: string; status: number; detail: string };
  expect(problem).toMatchObject({ type: expect.stringMatching(/\S/), status, detail: expect.stringMatching(/\S/) });
  if (detail) expect(problem.detail).toMatch(detail);

  return problem.detail;
}
