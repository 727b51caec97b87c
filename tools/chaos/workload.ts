// The chaos run's traffic: the seeded operations (operations.ts) from many concurrent clients, every answer entered
// in the ledger.
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dispatcher, Pool } from 'undici';
import type { Ledger } from './ledger';
import { type Operation, OperationSource } from './operations';

const REQUEST_TIMEOUT_MS = 30_000;
const RETRY_PAUSE_MS = 50;

/** Statuses that say a request changed nothing, as the contract documents them. */
const REFUSALS = new Set([404, 409, 412, 429, 503]);

export interface WorkloadOptions {
  seed: number;
  ids: number;
  concurrency: number;
  rate?: number;
  docs: string;
  events: string;
  /** sent as the `Durability` header of every write; none by default */
  durability?: string;
}

/** Counts of answers per request kind and status ("network" when none came), plus the failures worth a report. */
export class TrafficStats {
  readonly byKind: Record<string, Record<string, number>> = {};
  requests = 0;
  /** answers the contract does not allow for valid traffic */
  readonly violations: string[] = [];

  count(kind: string, status: string | number): void {
    this.requests += 1;
    const row = (this.byKind[kind] ??= {});
    row[status] = (row[status] ?? 0) + 1;
  }

  violation(message: string): void {
    if (this.violations.length < 50) this.violations.push(message);
  }
}

/** What ingest answers to a write: a version, or the per-item results of a _bulk, or a problem. */
interface AnswerBody {
  version?: number;
  outcome?: string;
  results?: ItemResult[];
}

interface ItemResult {
  version?: number;
  error?: { status: number; outcome?: string };
}

/** An answer, with the level its `Durability` header names (`memory` when there is none), or no answer. */
type Reply = { status: number; body: AnswerBody | undefined; level: string } | { error: unknown };

/** Whether a failed request surely never reached ingest (so it cannot have been applied). */
function neverSent(error: unknown): boolean {
  const codeOf = (value: unknown): unknown =>
    typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
  const cause = typeof error === 'object' && error !== null ? (error as { cause?: unknown }).cause : undefined;

  return (codeOf(error) ?? codeOf(cause)) === 'ECONNREFUSED';
}

export interface Traffic {
  /** Stops sending; resolves once every request in flight has its answer. */
  stop(): Promise<void>;
}

/** Runs clients until `stop()` is called; every answer goes to the ledger and the stats. */
export function startTraffic({
  url,
  ledger,
  stats,
  options,
}: {
  url: string;
  ledger: Ledger;
  stats: TrafficStats;
  options: WorkloadOptions;
}): Traffic {
  const source = new OperationSource(options);
  const pool = new Pool(url, {
    connections: options.concurrency,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  let running = true;
  let nextSlot = Date.now();
  const interval = options.rate ? 1000 / options.rate : 0;

  const pace = async (): Promise<void> => {
    if (!interval) return;
    const now = Date.now();
    nextSlot = Math.max(nextSlot + interval, now - 1000); // never bank more than a second of credit
    if (nextSlot > now) await sleep(nextSlot - now);
  };

  const send = async (
    method: Dispatcher.HttpMethod,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply> => {
    const asked = method === 'GET' || !options.durability ? headers : { ...headers, durability: options.durability };
    try {
      const response = await pool.request({
        method,
        path,
        headers: body === undefined ? asked : { 'content-type': 'application/json', ...asked },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.body.text();
      const level = response.headers.durability;

      return {
        status: response.statusCode,
        body: text ? (JSON.parse(text) as AnswerBody) : undefined,
        level: typeof level === 'string' ? level : 'memory',
      };
    } catch (error) {
      return { error };
    }
  };

  /** Enters an answer in the stats; returns 'ok', 'refused' or 'unknown'. */
  const judge = (kind: string, reply: Reply, describe: string): 'ok' | 'refused' | 'unknown' => {
    if ('error' in reply) {
      if (neverSent(reply.error)) {
        stats.count(kind, 'refused-connection');

        return 'refused';
      }
      stats.count(kind, 'network');

      return 'unknown';
    }
    if (reply.status === 503 && reply.body?.outcome === 'unknown') {
      stats.count(kind, '503 unknown');

      return 'unknown'; // Redis went away after ingest sent the write
    }
    stats.count(kind, reply.status);
    if (reply.status === 202 || reply.status === 200) return 'ok';
    if (!REFUSALS.has(reply.status)) {
      stats.violation(`${describe}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
      // A server error (a 500 is outside the contract) says nothing of what was written before it failed.
      if (reply.status >= 500) return 'unknown';
    }

    return 'refused';
  };

  const documentPath = (id: string): string => `/v1/${options.docs}/${id}`;
  const versionOf = (reply: Reply): number => Number('error' in reply ? undefined : reply.body?.version);
  const levelOf = (reply: Reply): string => ('error' in reply ? 'memory' : reply.level);

  /** The per-item results of a _bulk answer: acknowledgements, unknown outcomes, answers outside the contract. */
  const settleItems = <T>(
    reply: Reply,
    items: readonly T[],
    handlers: {
      describe: (item: T) => string;
      acked: (item: T, result: ItemResult) => void;
      unknown: (item: T) => void;
    },
  ): void => {
    const results = 'error' in reply ? [] : (reply.body?.results ?? []);
    items.forEach((item, i) => {
      const result = results[i];
      if (!result) {
        stats.violation(`${handlers.describe(item)}: no result in the _bulk answer`);

        return;
      }
      if (result.error?.outcome === 'unknown') handlers.unknown(item);
      if (!result.error) handlers.acked(item, result);
      else if (!REFUSALS.has(result.error.status)) {
        stats.violation(`${handlers.describe(item)}: ${JSON.stringify(result.error)}`);
      }
    });
  };

  /** Sends one operation and enters its answer; returns the reply ({ error } when none came). */
  const execute = async (op: Operation): Promise<Reply> => {
    const request = ledger.nextRequest(); // numbered as it is sent (see ledger.ts)
    switch (op.kind) {
      case 'put':
      case 'create': {
        const conditional = op.kind === 'put' && op.conditional === true;
        const headers: Record<string, string> = conditional
          ? { 'if-match': `"${ledger.lastAckedVersion(op.id)}"` }
          : {};
        const reply =
          op.kind === 'put'
            ? await send('PUT', documentPath(op.id), op.body, headers)
            : await send('POST', `/v1/${options.docs}`, { ...op.body, id: op.id });
        const outcome = judge(conditional ? 'put-if-match' : op.kind, reply, `${op.kind} ${op.id}`);
        if (outcome === 'ok') {
          ledger.acked(
            op.id,
            versionOf(reply),
            { op: 'put', body: { ...op.body, id: op.id } },
            request,
            levelOf(reply),
          );
        }
        if (outcome === 'unknown') ledger.unknownOutcome(op.id);

        return reply;
      }
      case 'patch':
      case 'delete': {
        const body = op.kind === 'patch' ? op.body : undefined;
        const reply = await send(op.kind === 'patch' ? 'PATCH' : 'DELETE', documentPath(op.id), body);
        const outcome = judge(op.kind, reply, `${op.kind} ${op.id}`);
        if (outcome === 'ok') ledger.acked(op.id, versionOf(reply), { op: op.kind, body }, request, levelOf(reply));
        if (outcome === 'unknown') ledger.unknownOutcome(op.id);

        return reply;
      }
      case 'event': {
        const reply = await send('POST', `/v1/${options.events}`, op.body);
        const outcome = judge('event', reply, `event ${op.id}`);
        if (outcome === 'ok') ledger.ackedEvent(op.id, op.body, request, levelOf(reply));
        if (outcome === 'unknown') ledger.unknownEvents.add(op.id);

        return reply;
      }
      case 'bulk-docs': {
        const reply = await send('POST', `/v1/${options.docs}/_bulk`, { ops: op.items });
        const outcome = judge('bulk-docs', reply, `_bulk of ${op.items.length} documents`);
        if (outcome === 'unknown') op.items.forEach((item) => ledger.unknownOutcome(item.id));
        if (outcome === 'ok') {
          settleItems(reply, op.items, {
            describe: (item) => `_bulk item ${item.op} ${item.id}`,
            acked: (item, result) => {
              const body =
                item.op === 'put' ? { ...item.doc, id: item.id } : item.op === 'patch' ? item.doc : undefined;
              ledger.acked(item.id, Number(result.version), { op: item.op, body }, request, levelOf(reply));
            },
            unknown: (item) => ledger.unknownOutcome(item.id),
          });
        }

        return reply;
      }
      case 'bulk-events': {
        const reply = await send('POST', `/v1/${options.events}/_bulk`, { events: op.events.map((e) => e.body) });
        const outcome = judge('bulk-events', reply, `_bulk of ${op.events.length} events`);
        if (outcome === 'unknown') op.events.forEach((e) => ledger.unknownEvents.add(e.id));
        if (outcome === 'ok') {
          settleItems(reply, op.events, {
            describe: (e) => `_bulk event ${e.id}`,
            acked: (e) => ledger.ackedEvent(e.id, e.body, request, levelOf(reply)),
            unknown: (e) => ledger.unknownEvents.add(e.id),
          });
        }

        return reply;
      }
    }
  };

  const client = async (): Promise<void> => {
    while (running) {
      await pace();
      if (!running) return;
      const reply = await execute(source.next());
      // While ingest is down every request fails at once: do not spin.
      if ('error' in reply) await sleep(RETRY_PAUSE_MS);
    }
  };

  const clients = Promise.all(Array.from({ length: options.concurrency }, client));

  return {
    async stop() {
      running = false;
      await clients;
      await pool.close();
    },
  };
}
