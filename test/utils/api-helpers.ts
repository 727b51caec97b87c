/**
 * Helpers for test/api.e2e-spec.ts: boot the ingest app in-process, send requests through Fastify's inject (or as
 * raw bytes on a socket), check RFC 9457 problem answers, and snapshot what Redis holds for a document so a spec
 * can prove that a refused request changed nothing.
 */
import 'reflect-metadata';
import { connect } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Redis } from 'ioredis';
import { createIngestApp } from '../../apps/ingest/src/ingest.app';

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

/** Redis keys of CONTRACT.md / libs/contracts/src/keys.ts (partition 0, the only one today). */
export const streamKey = (collection: string): string => `spw:{${collection}.0}:stream`;
export const docKey = (collection: string, id: string): string => `spw:{${collection}.0}:doc:${id}`;

export interface RedisSnapshot {
  streamLength: number;
  doc: Record<string, string>;
}

/** The collection's stream length and one document's hash, to compare before and after a refused request. */
export async function snapshot(redis: Redis, collection: string, id: string): Promise<RedisSnapshot> {
  const [streamLength, doc] = await Promise.all([
    redis.xlen(streamKey(collection)),
    redis.hgetall(docKey(collection, id)),
  ]);

  return { streamLength, doc };
}

/**
 * Entries of a collection's stream that no consumer group has acked yet, figured as the ingest's backlog
 * guard does: the whole stream without groups, else the furthest-behind group's pending plus lag.
 */
export async function unackedBacklog(redis: Redis, collection: string): Promise<number> {
  const key = streamKey(collection);
  const length = await redis.xlen(key);
  let groups: unknown[];
  try {
    groups = (await redis.xinfo('GROUPS', key)) as unknown[];
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

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
