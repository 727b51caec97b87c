// One fuzz run: its own stack, seeded valid and hostile traffic from a pool of workers plus a few slow clients,
// then a drain and the checks of issue 3. Returns a report (see report.ts); never exits the process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from '../local-stack';
import type { FuzzCase } from './case-context';
import { createCaseSource } from './cases';
import { type Check, landingChecks, processChecks, slowChecks, untouchedChecks } from './checks';
import { COLLECTIONS } from './collections';
import { type Answer, createHttpClient, sendRaw } from './http';
import { Ledger } from './ledger';
import { runSlowClients, type SlowResult } from './slow-clients';

/** Statuses the contract documents (README "Error statuses"), plus 408 for a request sent too slowly. */
export const DOCUMENTED_STATUSES = [200, 202, 400, 401, 404, 405, 408, 409, 412, 413, 415, 429, 503];
const EXAMPLES_KEPT = 20;
const RAW_GIVE_UP_MS = 20_000;

export interface FuzzOptions {
  seed: number;
  duration: number;
  requests?: number;
  concurrency: number;
  replicas: number;
  ids: number;
  slowClients: number;
  dir?: string;
  keep?: boolean;
  onProgress?: (line: string) => void;
}

export interface CategoryStats {
  sent: number;
  valid: boolean;
  statuses: Record<string, number>;
}

export interface FuzzReport {
  seed: number;
  options: Pick<FuzzOptions, 'duration' | 'requests' | 'concurrency' | 'replicas' | 'ids' | 'slowClients'>;
  sent: number;
  elapsedMs: number;
  categories: Record<string, CategoryStats>;
  examples: { category: string; request: string; answer: string; problem: string }[];
  checks: Check[];
  passed: boolean;
  figures: { sendingMs?: number; drainMs?: number; rows?: number; events?: number; slow?: SlowResult[] };
  rss: { ingestStart: number | undefined; ingestEnd: number | undefined };
  acknowledged: { documentWrites: number; events: number };
}

/** Sorts answers against the contract: counts per category and status, and the first violations. */
class Judge {
  readonly categories = new Map<string, CategoryStats>();
  readonly examples: FuzzReport['examples'] = [];
  violations = 0;
  serverErrors = 0;

  constructor(private readonly ledger: Ledger) {}

  judge(fuzzCase: FuzzCase, answer: Answer): void {
    const stats = this.categories.get(fuzzCase.category) ?? { sent: 0, valid: fuzzCase.valid, statuses: {} };
    this.categories.set(fuzzCase.category, stats);
    stats.sent += 1;
    const closed = answer.status === undefined && answer.closedByServer === true && !answer.networkError;
    const label =
      answer.status !== undefined
        ? String(answer.status)
        : closed
          ? 'closed'
          : `no answer (${answer.networkError ?? 'client gave up'})`;
    stats.statuses[label] = (stats.statuses[label] ?? 0) + 1;
    const problem = this.problemWith(fuzzCase, answer, closed, label);
    if (!problem) return;
    this.violations += 1;
    if (this.examples.length < EXAMPLES_KEPT) {
      const request =
        fuzzCase.transport === 'raw'
          ? `raw ${JSON.stringify(String(fuzzCase.raw.chunks[0] ?? '').slice(0, 100))}`
          : `${fuzzCase.method} ${fuzzCase.path.slice(0, 100)}`;
      this.examples.push({
        category: fuzzCase.category,
        request,
        answer: `${label} ${answer.body.slice(0, 160)}`,
        problem,
      });
    }
  }

  private problemWith(fuzzCase: FuzzCase, answer: Answer, closed: boolean, label: string): string | undefined {
    if (answer.status === undefined) {
      return closed && fuzzCase.allowClose ? undefined : `no answer: ${label}`;
    }
    if (answer.status >= 500 && answer.status !== 503) {
      this.serverErrors += 1;

      return `server error ${answer.status}`;
    }
    if (!fuzzCase.expect.includes(answer.status) || !DOCUMENTED_STATUSES.includes(answer.status)) {
      return `answered ${answer.status}, expected ${fuzzCase.expect.join('/')}`;
    }
    if (answer.status >= 400 && !/^application\/problem\+json\b/.test(answer.headers['content-type'] ?? '')) {
      return `a ${answer.status} that is not problem+json (${answer.headers['content-type'] ?? 'no content type'})`;
    }

    return fuzzCase.settle?.(answer, this.ledger);
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const { seed, duration, requests, concurrency, replicas, ids, slowClients } = options;
  const progress = options.onProgress ?? (() => undefined);
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'spillway-fuzz-'));
  const stack = new Stack({
    dir,
    replicas,
    collections: COLLECTIONS,
    redisFsync: 'everysec',
    databaseDurable: false,
    sinkEnv: { SINK_BLOCK_MS: '200', SINK_CLAIM_IDLE_MS: '5000' },
  });
  const ledger = new Ledger();
  const judge = new Judge(ledger);
  let sent = 0;
  const runStartedAt = Date.now();
  progress(`fuzz: starting Redis, PostgreSQL, ingest and ${replicas} sinks in ${dir}`);
  await stack.start();
  const ingest = stack.ingestApp;
  const rss: FuzzReport['rss'] = { ingestStart: ingest.rssBytes(), ingestEnd: undefined };
  const source = createCaseSource({ seed, ids, ledger });
  const origin = new URL(stack.ingestUrl);
  const client = createHttpClient({ origin: origin.origin, connections: concurrency });
  const checks: Check[] = [];
  let figures: FuzzReport['figures'];

  const send = (fuzzCase: FuzzCase): Promise<Answer> => {
    if (fuzzCase.transport === 'raw') {
      const { chunks, halfClose } = fuzzCase.raw;

      return sendRaw({ host: origin.hostname, port: Number(origin.port), chunks, halfClose, giveUpMs: RAW_GIVE_UP_MS });
    }
    const { method, path, headers, body } = fuzzCase;

    return client.send({ method, path, headers, body });
  };

  const startedAt = Date.now();
  const deadline = startedAt + duration * 1000;
  const moreToSend = (): boolean => Date.now() < deadline && (requests === undefined || sent < requests);

  const worker = async (): Promise<void> => {
    while (moreToSend()) {
      const fuzzCase = source.next();
      sent += 1;
      try {
        judge.judge(fuzzCase, await send(fuzzCase));
      } finally {
        for (const id of fuzzCase.locks ?? []) ledger.unlock(id);
      }
    }
  };

  const ticker = setInterval(() => progress(`fuzz: ${sent} requests sent, ${judge.violations} violations`), 10_000);
  try {
    const slow = runSlowClients({
      host: origin.hostname,
      port: Number(origin.port),
      count: slowClients,
      hx: source.hx,
    });
    await Promise.all(Array.from({ length: concurrency }, worker));
    const sendingMs = Date.now() - startedAt;
    const slowResults = await slow;
    clearInterval(ticker);
    await client.close();
    progress(`fuzz: ${sent} requests in ${(sendingMs / 1000).toFixed(1)} s; draining`);

    let drainMs: number | undefined;
    try {
      drainMs = await stack.waitDrained(120_000);
      checks.push({ name: 'backlog drained', passed: true, detail: `in ${drainMs} ms` });
    } catch (error) {
      checks.push({ name: 'backlog drained', passed: false, detail: (error as Error).message });
    }
    rss.ingestEnd = ingest.rssBytes();

    const hostileSent = [...judge.categories.values()].filter((c) => !c.valid).reduce((n, c) => n + c.sent, 0);
    checks.push({
      name: 'traffic of both kinds sent',
      passed: hostileSent > 0 && ledger.entries.docs > 0 && ledger.entries.events > 0,
      detail: `${sent - hostileSent} valid and ${hostileSent} hostile requests`,
    });
    checks.push({
      name: 'no 5xx except 503',
      passed: judge.serverErrors === 0,
      detail: `${judge.serverErrors} server errors`,
    });
    checks.push({
      name: 'every answer as the contract says',
      passed: judge.violations === 0,
      detail: `${judge.violations} answers outside the expected statuses, not problem+json, unanswered, or with a wrong body`,
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
    categories: Object.fromEntries([...judge.categories].sort(([a], [b]) => a.localeCompare(b))),
    examples: judge.examples,
    checks,
    passed: checks.every((c) => c.passed),
    figures,
    rss,
    acknowledged: { documentWrites: ledger.entries.docs, events: ledger.entries.events },
  };
}
