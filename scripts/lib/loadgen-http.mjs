// HTTP client for the load generator: one keep-alive undici Pool, one request per call.
import { Pool } from 'undici';

const DETAIL_MAX = 200;

/**
 * Creates `{ send(op), close(), destroy() }`. `send` never throws; it resolves to
 * `{ status, latencyMs, retryAfterMs?, detail? }` or `{ networkError, message }`.
 */
export function createClient({ url, apiKey, collection, eventsCollection, concurrency, timeoutMs }) {
  const pool = new Pool(url.origin, {
    connections: concurrency,
    pipelining: 1,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connectTimeout: timeoutMs,
  });
  const basePath = url.pathname.replace(/\/+$/, '');
  const auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};

  function pathFor(op) {
    if (op.kind === 'event') return `${basePath}/v1/${encodeURIComponent(eventsCollection)}`;
    return `${basePath}/v1/${encodeURIComponent(collection)}/${encodeURIComponent(op.id)}`;
  }

  function requestFor(op) {
    const headers = { ...auth, 'user-agent': 'spillway-loadgen' };
    if (op.body === undefined) return { method: op.method, path: pathFor(op), headers };
    headers['content-type'] = 'application/json';
    return { method: op.method, path: pathFor(op), headers, body: JSON.stringify(op.body) };
  }

  async function send(op) {
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
    } catch (err) {
      return { networkError: err.code ?? err.name ?? 'Error', message: err.message };
    }
  }

  return { send, close: () => pool.close(), destroy: () => pool.destroy() };
}

/** The problem+json `detail` (or `title`), else the start of the body text. */
async function readDetail(body) {
  const text = await body.text();
  try {
    const problem = JSON.parse(text);
    return String(problem.detail ?? problem.title ?? text).slice(0, DETAIL_MAX);
  } catch {
    return text.slice(0, DETAIL_MAX);
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; 1 s when absent or unreadable. */
export function parseRetryAfter(value, now = Date.now()) {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text === '') return 1000;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - now);
}
