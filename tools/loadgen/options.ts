// Command-line options of the load generator: parsing, validation, usage text.
import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Mix } from './traffic';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

export class UsageError extends Error {}

export const USAGE = `Usage: npm run loadgen -- [flags]

Sends simulated mobile-banking session traffic to a running Spillway ingest.

  --url URL              ingest base URL (env INGEST_URL; default http://127.0.0.1:3000)
  --api-key KEY          sends Authorization: Bearer KEY (env INGEST_API_KEY)
  --collection NAME      document collection (default sessions)
  --events-collection N  event collection for --events-per-sec (default clicks)
  --rate N               target document ops per second (default 200)
  --duration S           seconds to run (default 30)
  --concurrency N        requests in flight at most (default 32)
  --mix C/U/D            create/update/delete weights (default 60/30/10)
  --ids N                size of the session id pool, sess-000000.. (default 1000)
  --events-per-sec N     also POST click events at this rate (default 0)
  --seed N               PRNG seed for a repeatable op sequence (default random, printed)
  --timeout MS           per-request timeout (default 10000)
  --allow-remote         allow a URL whose host is not loopback
  --json                 print the summary as JSON on stdout
  --quiet                no progress bar
  -h, --help             this text

Exit codes: 0 done, 1 more than half the requests failed at the network level, 2 bad usage.
`;

const FLAGS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  collection: { type: 'string', default: 'sessions' },
  'events-collection': { type: 'string', default: 'clicks' },
  rate: { type: 'string', default: '200' },
  duration: { type: 'string', default: '30' },
  concurrency: { type: 'string', default: '32' },
  mix: { type: 'string', default: '60/30/10' },
  ids: { type: 'string', default: '1000' },
  'events-per-sec': { type: 'string', default: '0' },
  seed: { type: 'string' },
  timeout: { type: 'string', default: '10000' },
  'allow-remote': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} satisfies ParseArgsOptionsConfig;

const NAME_RE = /^[A-Za-z0-9._:-]{1,200}$/;

export interface Options {
  url: URL;
  apiKey: string | undefined;
  collection: string;
  eventsCollection: string;
  rate: number;
  duration: number;
  concurrency: number;
  mix: Mix;
  ids: number;
  eventsPerSec: number;
  seed: number;
  timeoutMs: number;
  allowRemote: boolean;
  json: boolean;
  quiet: boolean;
}

/** Returns the validated options, or `{ help: true }`; throws UsageError on bad input. */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options | { help: true } {
  const values = parseFlags(argv);
  if (values.help) return { help: true };
  const url = parseUrl(values.url ?? env.INGEST_URL ?? 'http://127.0.0.1:3000');

  return {
    url,
    apiKey: values['api-key'] ?? env.INGEST_API_KEY ?? undefined,
    collection: parseName('--collection', values.collection),
    eventsCollection: parseName('--events-collection', values['events-collection']),
    rate: parseNumber('--rate', values.rate, { min: 0, exclusiveMin: true }),
    duration: parseNumber('--duration', values.duration, { min: 0, exclusiveMin: true, max: 24 * 3600 }),
    concurrency: parseNumber('--concurrency', values.concurrency, { min: 1, max: 10_000, integer: true }),
    mix: parseMix(values.mix),
    ids: parseNumber('--ids', values.ids, { min: 1, max: 100_000_000, integer: true }),
    eventsPerSec: parseNumber('--events-per-sec', values['events-per-sec'], { min: 0 }),
    seed: values.seed === undefined ? randomInt(2 ** 32) : parseSeed(values.seed),
    timeoutMs: parseNumber('--timeout', values.timeout, { min: 1, integer: true }),
    allowRemote: values['allow-remote'],
    json: values.json,
    quiet: values.quiet,
  };
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--url: not a URL: ${text}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--url: only http and https are supported, got ${url.protocol}`);
  }

  return url;
}

function parseName(flag: string, text: string): string {
  if (!NAME_RE.test(text)) throw new UsageError(`${flag}: expected 1-200 of A-Z a-z 0-9 . _ : -, got "${text}"`);

  return text;
}

function parseNumber(
  flag: string,
  text: string,
  { min = -Infinity, max = Infinity, exclusiveMin = false, integer = false },
): number {
  const n = Number(text);
  const tooSmall = exclusiveMin ? n <= min : n < min;
  if (text.trim() === '' || !Number.isFinite(n) || tooSmall || n > max || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'an integer' : 'a number';
    const range = `${exclusiveMin ? '>' : '>='} ${min}${max < Infinity ? ` and <= ${max}` : ''}`;
    throw new UsageError(`${flag}: expected ${kind} ${range}, got "${text}"`);
  }

  return n;
}

function parseSeed(text: string): number {
  const n = parseNumber('--seed', text, { min: 0, max: 2 ** 32 - 1, integer: true });

  return n >>> 0;
}

function parseMix(text: string): Mix {
  const parts = text.split('/');
  const weights = parts.map(Number);
  const valid = parts.length === 3 && parts.every((p) => /^\d+(\.\d+)?$/.test(p.trim()));
  if (!valid || weights.reduce((a, b) => a + b, 0) <= 0) {
    throw new UsageError(`--mix: expected three non-negative weights like 60/30/10, got "${text}"`);
  }
  const [create = 0, update = 0, del = 0] = weights;

  return { create, update, delete: del };
}

/** True for hosts that cannot leave this machine; names are not resolved on purpose. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:(127\.|7f[0-9a-f]{2}:)/.test(host);

  return false;
}
