// HTTP client for the load generator: one keep-alive undici Pool, one request per call.
import { type Dispatcher, Pool } from 'undici';
import type { Options } from './options';
import type { SendResult } from './stats';
import type { Operation } from './traffic';

const DETAIL_MAX = 200;

export interface LoadClient {
  /** Never throws: a failure resolves to `{ networkError, message }`. */
  send(op: Operation): Promise<SendResult>;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export function createClient({
  url,
  apiKey,
  collection,
  eventsCollection,
  concurrency,
  timeoutMs,
}: Pick<Options, 'url' | 'apiKey' | 'collection' | 'eventsCollection' | 'concurrency' | 'timeoutMs'>): LoadClient {
  const pool = new Pool(url.origin, {
    connections: concurrency,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  });
  const basePath = url.pathname.replace(/\/+$/, '');
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};

  function pathFor(op: Operation): string {
    if (op.kind === 'event') return `${basePath}/v1/${encodeURIComponent(eventsCollection)}`;

    return `${basePath}/v1/${encodeURIComponent(collection)}/${encodeURIComponent(op.id)}`;
  }

  function requestFor(op: Operation): Dispatcher.RequestOptions {
    const headers: Record<string, string> = { ...auth, 'user-agent': 'spillway-loadgen' };
    if (op.body === undefined) return { method: op.method, path: pathFor(op), headers };
    headers['content-type'] = 'application/json';

    return { method: op.method, path: pathFor(op), headers, body: JSON.stringify(op.body) };
  }

  async function send(op: Operation): Promise<SendResult> {
    const started = performance.now();
    try {
      const res = await pool.request(requestFor(op));
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      // The body must be consumed either way, or the connection is not reused.
      const detail = ok ? await res.body.dump().then(() => undefined) : await readDetail(res.body);

      return {
        status: res.statusCode,
        latencyMs: performance.now() - started,
        retryAfterMs: res.statusCode === 429 ? parseRetryAfter(res.headers['retry-after']) : undefined,
        detail,
      };
    } catch (error) {
      const err = error as NodeJS.ErrnoException;

      return { networkError: err.code ?? err.name, message: err.message };
    }
  }

  return { send, close: () => pool.close(), destroy: () => pool.destroy() };
}

/** The problem+json `detail` (or `title`), else the start of the body text. */
async function readDetail(body: Dispatcher.ResponseData['body']): Promise<string> {
  const text = await body.text();
  try {
    const problem = JSON.parse(text) as { detail?: string; title?: string };

    return String(problem.detail ?? problem.title ?? text).slice(0, DETAIL_MAX);
  } catch {
    return text.slice(0, DETAIL_MAX);
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; 1 s when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === '') return 1000;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);

  return Number.isNaN(date) ? 1000 : Math.max(0, date - now);
}
