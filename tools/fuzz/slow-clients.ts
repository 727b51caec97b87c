// Slow clients, started at once and running beside the fuzz workers: each must be cut off by the server.
import { rawHead, sendRaw } from './http';
import { DOCS, HOSTILE } from './collections';

/** Ingest's request timeout (REQUEST_TIMEOUT_MS of the ingest's HTTP setup): slow clients must be cut off after it. */
const INGEST_REQUEST_TIMEOUT_MS = 30_000;
/** A slow client gives up (and the check fails) this long after it started. */
const SLOW_GIVE_UP_MS = INGEST_REQUEST_TIMEOUT_MS + 45_000;

export interface SlowResult {
  kind: string;
  status: number | undefined;
  problemJson: boolean;
  closedByServer: boolean;
  seconds: number;
}

/**
 * A body sent a byte a second, headers sent a byte a second, a body that stops halfway with the connection left
 * open, and a connection that sends nothing: each must be cut off by the server (408 or a close), never held
 * forever.
 */
export async function runSlowClients({
  host,
  port,
  count,
  hx,
}: {
  host: string;
  port: number;
  count: number;
  hx: () => string;
}): Promise<SlowResult[]> {
  const json = { 'Content-Type': 'application/json' };
  const kinds = [
    () => ({
      kind: 'body a byte a second',
      chunks: [
        rawHead('PUT', `/v1/${DOCS}/${hx()}`, { ...json, 'Content-Length': 100_000 }),
        '{"userId":"u-1","note":"',
      ],
      dribble: 'x',
    }),
    () => ({
      kind: 'headers a byte a second',
      chunks: [`PUT /v1/${DOCS}/${hx()} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `],
      dribble: 'abc',
    }),
    () => ({
      kind: 'body stops halfway',
      chunks: [rawHead('PUT', `/v1/${HOSTILE}/${hx()}`, { ...json, 'Content-Length': 64 }), '{"userId":"u-1",'],
      dribble: undefined,
    }),
    () => ({ kind: 'connects, sends nothing', chunks: [], dribble: undefined }),
  ];
  const clients = Array.from({ length: count }, (_, i) => (kinds[i % kinds.length] as (typeof kinds)[number])());

  return Promise.all(
    clients.map(async ({ kind, chunks, dribble }) => {
      const answer = await sendRaw({ host, port, chunks, dribble, dribbleEveryMs: 1000, giveUpMs: SLOW_GIVE_UP_MS });

      return {
        kind,
        status: answer.status,
        problemJson: /^application\/problem\+json\b/.test(answer.headers['content-type'] ?? ''),
        closedByServer: answer.closedByServer === true,
        seconds: Math.round(answer.elapsedMs / 100) / 10,
      };
    }),
  );
}
