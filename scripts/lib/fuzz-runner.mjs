// One fuzz run: its own stack, seeded valid and hostile traffic from a pool of workers plus a few slow clients,
// then a drain and the checks of issue 3. Returns a report (see fuzz-report.mjs); never exits the process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { partitionKeys, Stack } from './stack.mjs';
import { COLLECTIONS, createCaseSource, DOCS, EVENTS, HOSTILE } from './fuzz-cases.mjs';
import { createHttpClient, rawHead, sendRaw } from './fuzz-http.mjs';
import { Ledger } from './fuzz-ledger.mjs';

/** Statuses the contract documents (README "Error statuses"), plus 408 for a request sent too slowly. */
export const DOCUMENTED_STATUSES = [200, 202, 400, 401, 404, 405, 408, 409, 412, 413, 415, 429, 503];
/** Ingest's request timeout (apps/ingest/src/http/client-errors.ts): slow clients must be cut off after it. */
const INGEST_REQUEST_TIMEOUT_MS = 30_000;
/** A slow client gives up (and the check fails) this long after it started. */
const SLOW_GIVE_UP_MS = INGEST_REQUEST_TIMEOUT_MS + 45_000;
const EXAMPLES_KEPT = 20;
const RAW_GIVE_UP_MS = 20_000;

/**
 * @typedef {import('./fuzz-cases.mjs').FuzzCase} FuzzCase
 * @typedef {import('./fuzz-http.mjs').Answer} Answer
 *
 * @typedef {{
 *   seed: number,
 *   duration: number,
 *   requests?: number,
 *   concurrency: number,
 *   replicas: number,
 *   ids: number,
 *   slowClients: number,
 *   dir?: string,
 *   keep?: boolean,
 *   onProgress?: (line: string) => void,
 * }} FuzzOptions
 *
 * @typedef {{ sent: number, valid: boolean, statuses: Record<string, number> }} CategoryStats
 * @typedef {{ name: string, passed: boolean, detail: string }} Check
 */

/**
 * @param {FuzzOptions} options
 */
export async function runFuzz(options) {
  const { seed, duration, requests, concurrency, replicas, ids, slowClients } = options;
  const progress = options.onProgress ?? (() => undefined);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'spillway-fuzz-'));
  const stack = new Stack({
    dir,
    replicas,
    collections: COLLECTIONS,
    redisFsync: 'everysec',
    pgDurable: false,
    sinkEnv: { SINK_BLOCK_MS: '200', SINK_CLAIM_IDLE_MS: '5000' },
  });
  /** @type {Map<string, CategoryStats>} */
  const categories = new Map();
  /** @type {{ category: string, request: string, answer: string, problem: string }[]} */
  const examples = [];
  let violations = 0;
  let serverErrors = 0;
  let sent = 0;
  const runStartedAt = Date.now();
  progress(`fuzz: starting Redis, PostgreSQL, ingest and ${replicas} sinks in ${dir}`);
  await stack.start();
  const ingest = /** @type {import('./stack.mjs').AppProcess} */ (stack.ingest);
  const rss = { ingestStart: ingest.rssBytes(), ingestEnd: /** @type {number | undefined} */ (undefined) };
  const ledger = new Ledger();
  const source = createCaseSource({ seed, ids, ledger });
  const origin = new URL(stack.ingestUrl);
  const client = createHttpClient({ origin: origin.origin, connections: concurrency });
  /** @type {Check[]} */
  const checks = [];
  /** @type {Record<string, unknown>} */
  let figures = {};

  /**
   * @param {FuzzCase} fuzzCase
   * @param {Answer} answer
   */
  function judge(fuzzCase, answer) {
    const stats = categories.get(fuzzCase.category) ?? { sent: 0, valid: fuzzCase.valid, statuses: {} };
    categories.set(fuzzCase.category, stats);
    stats.sent += 1;
    const closed = answer.status === undefined && answer.closedByServer === true && !answer.networkError;
    const label = answer.status !== undefined ? String(answer.status) : closed ? 'closed' : `no answer (${answer.networkError ?? 'client gave up'})`;
    stats.statuses[label] = (stats.statuses[label] ?? 0) + 1;
    /** @type {string | undefined} */
    let problem;
    if (answer.status === undefined) {
      if (!(closed && fuzzCase.allowClose)) problem = `no answer: ${label}`;
    } else if (answer.status >= 500 && answer.status !== 503) {
      serverErrors += 1;
      problem = `server error ${answer.status}`;
    } else if (!fuzzCase.expect.includes(answer.status) || !DOCUMENTED_STATUSES.includes(answer.status)) {
      problem = `answered ${answer.status}, expected ${fuzzCase.expect.join('/')}`;
    } else if (answer.status >= 400 && !/^application\/problem\+json\b/.test(answer.headers['content-type'] ?? '')) {
      problem = `a ${answer.status} that is not problem+json (${answer.headers['content-type'] ?? 'no content type'})`;
    } else {
      problem = fuzzCase.settle?.(answer, ledger);
    }
    if (problem) {
      violations += 1;
      if (examples.length < EXAMPLES_KEPT) {
        const request = fuzzCase.transport === 'raw' ? `raw ${JSON.stringify(String(fuzzCase.raw?.chunks[0] ?? '').slice(0, 100))}` : `${fuzzCase.method} ${fuzzCase.path.slice(0, 100)}`;
        examples.push({ category: fuzzCase.category, request, answer: `${label} ${answer.body.slice(0, 160)}`, problem });
      }
    }
  }

  /** @param {FuzzCase} fuzzCase @returns {Promise<Answer>} */
  function send(fuzzCase) {
    if (fuzzCase.transport === 'raw') {
      const raw = /** @type {NonNullable<FuzzCase['raw']>} */ (fuzzCase.raw);
      return sendRaw({ host: origin.hostname, port: Number(origin.port), chunks: raw.chunks, halfClose: raw.halfClose, giveUpMs: RAW_GIVE_UP_MS });
    }
    const { method, path, headers, body } = fuzzCase;
    return client.send({ method, path, headers, body });
  }

  const startedAt = Date.now();
  const deadline = startedAt + duration * 1000;
  const moreToSend = () => Date.now() < deadline && (requests === undefined || sent < requests);

  async function worker() {
    while (moreToSend()) {
      const fuzzCase = source.next();
      sent += 1;
      try {
        judge(fuzzCase, await send(fuzzCase));
      } finally {
        for (const id of fuzzCase.locks ?? []) ledger.unlock(id);
      }
    }
  }

  const ticker = setInterval(() => progress(`fuzz: ${sent} requests sent, ${violations} violations`), 10_000);
  try {
    const slow = runSlowClients({ host: origin.hostname, port: Number(origin.port), count: slowClients, hx: source.hx });
    await Promise.all(Array.from({ length: concurrency }, worker));
    const sendingMs = Date.now() - startedAt;
    const slowResults = await slow;
    clearInterval(ticker);
    await client.close();
    progress(`fuzz: ${sent} requests in ${(sendingMs / 1000).toFixed(1)} s; draining`);

    let drainMs;
    try {
      drainMs = await stack.waitDrained(120_000);
      checks.push({ name: 'backlog drained', passed: true, detail: `in ${drainMs} ms` });
    } catch (error) {
      checks.push({ name: 'backlog drained', passed: false, detail: /** @type {Error} */ (error).message });
    }
    rss.ingestEnd = ingest.rssBytes();

    const hostileSent = [...categories.values()].filter((c) => !c.valid).reduce((n, c) => n + c.sent, 0);
    checks.push({
      name: 'traffic of both kinds sent',
      passed: hostileSent > 0 && ledger.entries.docs > 0 && ledger.entries.events > 0,
      detail: `${sent - hostileSent} valid and ${hostileSent} hostile requests`,
    });
    checks.push({ name: 'no 5xx except 503', passed: serverErrors === 0, detail: `${serverErrors} server errors` });
    checks.push({
      name: 'every answer as the contract says',
      passed: violations === 0,
      detail: `${violations} answers outside the expected statuses, not problem+json, unanswered, or with a wrong body`,
    });
    checks.push(...slowChecks(slowResults));
    checks.push(...(await processChecks(stack)));
    const landed = await landingChecks(stack, ledger);
    checks.push(...landed.checks);
    checks.push(...(await untouchedChecks(stack, ledger)));
    figures = { sendingMs, drainMs, rows: landed.rows, events: landed.events, slow: slowResults };
  } finally {
    clearInterval(ticker);
    await client.destroy().catch(() => undefined);
    await stack.stop({ keep: options.keep });
  }

  return {
    seed,
    options: { duration, requests, concurrency, replicas, ids, slowClients },
    sent,
    elapsedMs: Date.now() - runStartedAt,
    categories: Object.fromEntries([...categories].sort(([a], [b]) => a.localeCompare(b))),
    examples,
    checks,
    passed: checks.every((c) => c.passed),
    figures,
    rss,
    acknowledged: { documentWrites: ledger.entries.docs, events: ledger.entries.events },
  };
}

/**
 * Slow clients, started at once and running beside the workers: a body sent a byte a second, headers sent a
 * byte a second, a body that stops halfway with the connection left open, and a connection that sends nothing.
 * Each must be cut off by the server (408 or a close), never held forever.
 * @param {{ host: string, port: number, count: number, hx: () => string }} options
 */
async function runSlowClients({ host, port, count, hx }) {
  const kinds = [
    () => ({ kind: 'body a byte a second', chunks: [rawHead('PUT', `/v1/${DOCS}/${hx()}`, { 'Content-Type': 'application/json', 'Content-Length': 100_000 }), '{"userId":"u-1","note":"'], dribble: 'x' }),
    () => ({ kind: 'headers a byte a second', chunks: [`PUT /v1/${DOCS}/${hx()} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `], dribble: 'abc' }),
    () => ({ kind: 'body stops halfway', chunks: [rawHead('PUT', `/v1/${HOSTILE}/${hx()}`, { 'Content-Type': 'application/json', 'Content-Length': 64 }), '{"userId":"u-1",'], dribble: undefined }),
    () => ({ kind: 'connects, sends nothing', chunks: [], dribble: undefined }),
  ];
  const clients = Array.from({ length: count }, (_, i) => kinds[i % kinds.length]());
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

/** @param {Awaited<ReturnType<typeof runSlowClients>>} results @returns {Check[]} */
function slowChecks(results) {
  if (results.length === 0) return [];
  const bad = results.filter((r) => !r.closedByServer || (r.status !== undefined && (r.status !== 408 || !r.problemJson)));
  return [
    {
      name: 'slow clients cut off (408 or close)',
      passed: bad.length === 0,
      detail: results.map((r) => `${r.kind}: ${r.closedByServer ? `${r.status ?? 'closed'} after ${r.seconds} s` : `still open after ${r.seconds} s`}`).join('; '),
    },
  ];
}

/** @param {Stack} stack @returns {Promise<Check[]>} */
async function processChecks(stack) {
  const apps = [/** @type {import('./stack.mjs').AppProcess} */ (stack.ingest), ...stack.sinks];
  const exits = stack.unexpectedExits();
  const notReady = [];
  for (const app of apps) {
    if (!app.running) {
      notReady.push(`${app.name} not running`);
      continue;
    }
    try {
      const res = await fetch(`${app.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) notReady.push(`${app.name} ready ${res.status}`);
    } catch (error) {
      notReady.push(`${app.name} ready: ${/** @type {Error} */ (error).message}`);
    }
  }
  return [
    { name: 'no process crashed', passed: exits.length === 0, detail: exits.length === 0 ? `${apps.length} processes ran throughout` : JSON.stringify(exits) },
    { name: 'ingest and sinks running and ready', passed: notReady.length === 0, detail: notReady.join('; ') || `${apps.length} of ${apps.length} ready` },
  ];
}

/**
 * PostgreSQL against the ledger: every live document with its last acknowledged version and content, no other
 * row; every acknowledged event once, as sent.
 * @param {Stack} stack
 * @param {Ledger} ledger
 */
async function landingChecks(stack, ledger) {
  const pool = /** @type {import('pg').Pool} */ (stack.pg);
  const { rows } = await pool.query(`SELECT id, version, doc FROM ${DOCS}`);
  const expected = ledger.expectedRows();
  const mismatches = [];
  const found = new Map(rows.map((r) => [r.id, r]));
  for (const [id, want] of expected) {
    const row = found.get(id);
    if (!row) mismatches.push(`${id}: no row (expected version ${want.version})`);
    else if (Number(row.version) !== want.version) mismatches.push(`${id}: version ${row.version}, acknowledged ${want.version}`);
    else if (!isDeepStrictEqual(row.doc, want.doc)) mismatches.push(`${id}: document differs from the acknowledged one`);
  }
  for (const row of rows) if (!expected.has(row.id)) mismatches.push(`${row.id}: row for a document that is not live`);

  const events = await pool.query(`SELECT id, doc FROM ${EVENTS}`);
  const eventMismatches = [];
  const eventsFound = new Map(events.rows.map((r) => [r.id, r.doc]));
  for (const [id, doc] of ledger.events) {
    if (!eventsFound.has(id)) eventMismatches.push(`${id}: missing`);
    else if (!isDeepStrictEqual(eventsFound.get(id), doc)) eventMismatches.push(`${id}: differs`);
  }
  for (const row of events.rows) if (!ledger.events.has(row.id)) eventMismatches.push(`${row.id}: never acknowledged`);

  return {
    rows: rows.length,
    events: events.rows.length,
    checks: [
      {
        name: 'valid documents landed as acknowledged',
        passed: mismatches.length === 0 && ledger.anomalies.length === 0,
        detail: `${expected.size} live documents expected, ${rows.length} rows; ${mismatches.length} mismatches${fmtExamples([...mismatches, ...ledger.anomalies])}`,
      },
      {
        name: 'valid events landed once',
        passed: eventMismatches.length === 0,
        detail: `${ledger.events.size} acknowledged, ${events.rows.length} rows; ${eventMismatches.length} mismatches${fmtExamples(eventMismatches)}`,
      },
    ],
  };
}

/** @param {string[]} list */
const fmtExamples = (list) => (list.length === 0 ? '' : `: ${list.slice(0, 5).join('; ')}`);

/**
 * Redis and PostgreSQL unchanged by every refused request: no "hx-" id and nothing of fz_hostile anywhere, stream
 * entries (ever added, trimming aside) and ingest's write counter equal to the acknowledged valid writes, no
 * dead letters.
 * @param {Stack} stack
 * @param {Ledger} ledger
 * @returns {Promise<Check[]>}
 */
async function untouchedChecks(stack, ledger) {
  const redis = /** @type {import('ioredis').Redis} */ (stack.redis);
  const pool = /** @type {import('pg').Pool} */ (stack.pg);
  /** @type {string[]} */
  const strayKeys = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    // The sinks create every collection's stream and group (MKSTREAM); documents are what a write leaves.
    strayKeys.push(...keys.filter((k) => k.includes(':doc:hx-') || k.startsWith(partitionKeys(HOSTILE).document(''))));
  } while (cursor !== '0');
  const strayRows = [];
  for (const table of [DOCS, EVENTS, HOSTILE]) {
    const { rows } = await pool.query(`SELECT id FROM ${table} WHERE id LIKE 'hx-%' OR $1 LIMIT 5`, [table === HOSTILE]);
    strayRows.push(...rows.map((r) => `${table}/${r.id}`));
  }
  const added = { docs: await entriesAdded(redis, DOCS), events: await entriesAdded(redis, EVENTS), hostile: await entriesAdded(redis, HOSTILE) };
  const metrics = await (await fetch(`${/** @type {any} */ (stack.ingest).url}/metrics`)).text();
  const writes = writesByCollection(metrics);
  const dlq = {};
  for (const { name } of COLLECTIONS) dlq[name] = await redis.xlen(partitionKeys(name).deadLetters);
  const letters = Object.values(dlq).reduce((a, b) => a + b, 0);
  const want = ledger.entries;
  return [
    {
      name: 'refused requests left no trace',
      passed: strayKeys.length === 0 && strayRows.length === 0,
      detail: `${strayKeys.length} Redis keys, ${strayRows.length} PostgreSQL rows of hostile ids or ${HOSTILE}${fmtExamples([...strayKeys, ...strayRows])}`,
    },
    {
      name: 'stream entries = acknowledged writes',
      passed: added.docs === want.docs && added.events === want.events && added.hostile === 0,
      detail: `${DOCS}: ${added.docs} added, ${want.docs} acknowledged; ${EVENTS}: ${added.events} added, ${want.events} acknowledged; ${HOSTILE}: ${added.hostile} added`,
    },
    {
      name: 'spillway_ingest_writes_total = acknowledged writes',
      passed: (writes[DOCS] ?? 0) === want.docs && (writes[EVENTS] ?? 0) === want.events && (writes[HOSTILE] ?? 0) === 0,
      detail: `${DOCS} ${writes[DOCS] ?? 0}, ${EVENTS} ${writes[EVENTS] ?? 0} (duplicates not counted), ${HOSTILE} ${writes[HOSTILE] ?? 0}`,
    },
    { name: 'dead-letter streams empty', passed: letters === 0, detail: JSON.stringify(dlq) },
  ];
}

/**
 * Entries ever added to a collection's stream (XINFO STREAM entries-added, Redis 7): trimming does not lower it.
 * @param {import('ioredis').Redis} redis
 * @param {string} collection
 */
async function entriesAdded(redis, collection) {
  try {
    const info = /** @type {unknown[]} */ (await redis.xinfo('STREAM', partitionKeys(collection).stream));
    return Number(info[info.indexOf('entries-added') + 1]);
  } catch {
    return 0; // no stream: nothing was ever added
  }
}

/**
 * spillway_ingest_writes_total by collection, without the `duplicate` outcome (an event already held adds no entry).
 * @param {string} text
 * @returns {Record<string, number>}
 */
function writesByCollection(text) {
  /** @type {Record<string, number>} */
  const sums = {};
  for (const match of text.matchAll(/^spillway_ingest_writes_total\{([^}]*)\} (\S+)$/gm)) {
    const collection = /collection="([^"]*)"/.exec(match[1])?.[1] ?? '';
    const op = /op="([^"]*)"/.exec(match[1])?.[1] ?? '';
    if (op !== 'duplicate') sums[collection] = (sums[collection] ?? 0) + Number(match[2]);
  }
  return sums;
}
