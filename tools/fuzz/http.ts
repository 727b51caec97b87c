// HTTP for the fuzzer: well-formed requests through one keep-alive undici Pool, and raw bytes on a fresh socket
// for what a conforming client cannot send (malformed framing, oversized headers, bodies that stop or crawl).
import { connect } from 'node:net';
import { Pool } from 'undici';

/** What came back: a status, headers and body when an HTTP answer came; how the connection ended otherwise. */
export interface Answer {
  status?: number;
  headers: Record<string, string>;
  body: string;
  networkError?: string;
  closedByServer?: boolean;
  elapsedMs: number;
}

export interface WellFormedRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpClient {
  /** Never throws: a failure comes back as `{ networkError }`. */
  send(request: WellFormedRequest): Promise<Answer>;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

const ANSWER_TIMEOUT_MS = 60_000;

/** A client for well-formed requests. */
export function createHttpClient({ origin, connections }: { origin: string; connections: number }): HttpClient {
  const pool = new Pool(origin, {
    connections,
    pipelining: 1,
    headersTimeout: ANSWER_TIMEOUT_MS,
    bodyTimeout: ANSWER_TIMEOUT_MS,
    connectTimeout: 10_000,
  });

  async function send({ method, path, headers = {}, body }: WellFormedRequest): Promise<Answer> {
    const started = performance.now();
    try {
      const res = await pool.request({
        method,
        path,
        headers: { 'user-agent': 'spillway-fuzz', ...headers },
        body,
      });
      const text = await res.body.text();
      const flat: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) {
        flat[name] = Array.isArray(value) ? value.join(', ') : String(value);
      }

      return { status: res.statusCode, headers: flat, body: text, elapsedMs: performance.now() - started };
    } catch (error) {
      const err = error as NodeJS.ErrnoException;

      return { headers: {}, body: '', networkError: err.code ?? err.name, elapsedMs: performance.now() - started };
    }
  }

  return { send, close: () => pool.close(), destroy: () => pool.destroy() };
}

export interface RawRequest {
  host: string;
  port: number;
  chunks: readonly (string | Buffer)[];
  dribble?: string;
  dribbleEveryMs?: number;
  halfClose?: boolean;
  giveUpMs?: number;
}

/**
 * Writes `chunks` on a new connection, then (optionally) one byte of `dribble` every `dribbleEveryMs`, or a FIN
 * with `halfClose`; reads until the server closes the connection or `giveUpMs` passes. Never throws.
 */
export function sendRaw({
  host,
  port,
  chunks,
  dribble,
  dribbleEveryMs = 1000,
  halfClose = false,
  giveUpMs = 15_000,
}: RawRequest): Promise<Answer> {
  const started = performance.now();

  return new Promise((resolve) => {
    const socket = connect(port, host);
    const received: Buffer[] = [];
    let closedByServer = true;
    let networkError: string | undefined;
    let sent = 0;
    let dribbler: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      closedByServer = false;
      socket.destroy();
    }, giveUpMs);
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      if (dribble !== undefined) {
        dribbler = setInterval(() => socket.write(dribble[sent++ % dribble.length] ?? ''), dribbleEveryMs);
      } else if (halfClose) {
        socket.end();
      }
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // A server may reset a connection it refuses while bytes are still coming; what it answered still counts.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? 'Error';
      if (code !== 'ECONNRESET' && code !== 'EPIPE') networkError = code;
    });
    socket.on('close', () => {
      clearInterval(dribbler);
      clearTimeout(giveUp);
      const parsed = parseAnswer(Buffer.concat(received));
      resolve({
        ...parsed,
        networkError: parsed.status === undefined ? networkError : undefined,
        closedByServer,
        elapsedMs: performance.now() - started,
      });
    });
  });
}

/** The first HTTP/1.1 answer in `bytes` (Content-Length or chunked body); no status when there is none. */
export function parseAnswer(bytes: Buffer): { status?: number; headers: Record<string, string>; body: string } {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return { headers: {}, body: '' };
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));

  return { status: status === undefined ? undefined : Number(status), headers, body: body.toString('utf8') };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd < 0) break;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }

  return Buffer.concat(parts);
}

/** The request head as raw text (header values are written as given, CR LF included, on purpose). */
export function rawHead(method: string, path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);

  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${lines.join('')}\r\n`;
}
