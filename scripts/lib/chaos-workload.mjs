// The chaos run's traffic: a seeded sequence of document writes, events and _bulk requests from many concurrent
// clients, every answer entered in the ledger. Hot ids (1% of them) take half of the document writes.
import { Pool } from 'undici';
import { mulberry32 } from './loadgen-traffic.mjs';

const REQUEST_TIMEOUT_MS = 30_000;
const RETRY_PAUSE_MS = 50;
const RECENT_EVENTS_KEPT = 500;
const TIERS = ['free', 'plus', 'pro'];
const REGIONS = ['eu-west', 'us-east', 'ap-south'];

/** Statuses that say a request changed nothing, as the contract documents them. */
const REFUSALS = new Set([404, 409, 412, 429, 503]);

/**
 * @typedef {{ seed: number, ids: number, concurrency: number, rate?: number, docs: string, events: string }} WorkloadOptions
 * @typedef {import('./chaos-ledger.mjs').Ledger} Ledger
 */

/** Seeded operations: the same seed gives the same sequence of requests. */
export class OperationSource {
  /** @param {WorkloadOptions} options */
  constructor(options) {
    this.options = options;
    this.random = mulberry32(options.seed);
    this.hotIds = Math.max(1, Math.round(options.ids / 100));
    this.step = 0;
    this.eventSeq = 0;
    /** @type {{ id: string, body: object }[]} */
    this.recentEvents = [];
  }

  int(n) {
    return Math.floor(this.random() * n);
  }

  docId() {
    const hot = this.random() < 0.5;
    return `doc-${hot ? this.int(this.hotIds) : this.hotIds + this.int(this.options.ids - this.hotIds)}`;
  }

  docBody() {
    this.step += 1;
    return {
      owner: `u${this.int(500)}`,
      amount: this.int(10_000_000) / 100,
      step: this.step,
      tags: Array.from({ length: this.int(4) }, () => `t${this.int(50)}`),
      profile: { tier: TIERS[this.int(TIERS.length)], region: REGIONS[this.int(REGIONS.length)] },
    };
  }

  patchBody() {
    this.step += 1;
    const roll = this.random();
    return {
      amount: this.int(10_000_000) / 100,
      step: this.step,
      note: roll < 0.3 ? null : `n${this.int(1000)}`,
      profile: roll < 0.6 ? { tier: TIERS[this.int(TIERS.length)] } : { region: null },
    };
  }

  event() {
    if (this.recentEvents.length > 0 && this.random() < 0.05) {
      return this.recentEvents[this.int(this.recentEvents.length)]; // a resend: must still be stored once
    }
    this.eventSeq += 1;
    const id = `evt-${this.options.seed}-${this.eventSeq}`;
    const body = { id, kind: ['click', 'view', 'buy'][this.int(3)], at: this.eventSeq, value: this.int(1000) };
    this.recentEvents.push({ id, body });
    if (this.recentEvents.length > RECENT_EVENTS_KEPT) this.recentEvents.shift();
    return { id, body };
  }

  /** @returns {{ kind: string, [key: string]: any }} */
  next() {
    const roll = this.random();
    if (roll < 0.38) return { kind: 'put', id: this.docId(), body: this.docBody() };
    if (roll < 0.43) return { kind: 'put', id: this.docId(), body: this.docBody(), conditional: true };
    if (roll < 0.58) return { kind: 'patch', id: this.docId(), body: this.patchBody() };
    if (roll < 0.65) return { kind: 'delete', id: this.docId() };
    if (roll < 0.68) return { kind: 'create', id: this.docId(), body: this.docBody() };
    if (roll < 0.88) return { kind: 'event', ...this.event() };
    if (roll < 0.95) {
      const items = Array.from({ length: 20 + this.int(80) }, () => {
        const r = this.random();
        const id = this.docId();
        if (r < 0.6) return { op: 'put', id, doc: this.docBody() };
        if (r < 0.9) return { op: 'patch', id, doc: this.patchBody() };
        return { op: 'delete', id };
      });
      return { kind: 'bulk-docs', items };
    }
    return { kind: 'bulk-events', events: Array.from({ length: 20 + this.int(180) }, () => this.event()) };
  }
}

/** Counts of answers per request kind and status ("network" when none came), plus the failures worth a report. */
export class TrafficStats {
  constructor() {
    /** @type {Record<string, Record<string, number>>} */
    this.byKind = {};
    this.requests = 0;
    this.ackedWrites = 0;
    this.ackedEvents = 0;
    /** @type {string[]} answers the contract does not allow for valid traffic */
    this.violations = [];
  }

  count(kind, status) {
    this.requests += 1;
    const row = (this.byKind[kind] ??= {});
    row[status] = (row[status] ?? 0) + 1;
  }

  violation(message) {
    if (this.violations.length < 50) this.violations.push(message);
  }
}

/** Whether a failed request surely never reached ingest (so it cannot have been applied). */
function neverSent(error) {
  const code = error?.code ?? error?.cause?.code;
  return code === 'ECONNREFUSED';
}

/**
 * Runs clients until `stop()` is called; every answer goes to the ledger and the stats.
 * @param {{ url: string, ledger: Ledger, stats: TrafficStats, options: WorkloadOptions }} params
 */
export function startTraffic({ url, ledger, stats, options }) {
  const source = new OperationSource(options);
  const pool = new Pool(url, { connections: options.concurrency, headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  let running = true;
  let nextSlot = Date.now();
  const interval = options.rate ? 1000 / options.rate : 0;

  const pace = async () => {
    if (!interval) return;
    const now = Date.now();
    nextSlot = Math.max(nextSlot + interval, now - 1000); // never bank more than a second of credit
    if (nextSlot > now) await new Promise((resolve) => setTimeout(resolve, nextSlot - now));
  };

  /** @returns {Promise<{ status: number, body: any } | { error: any }>} */
  const send = async (method, path, body, headers = {}) => {
    try {
      const response = await pool.request({
        method,
        path,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: text ? JSON.parse(text) : undefined };
    } catch (error) {
      return { error };
    }
  };

  /** Enters an answer in the stats; returns 'ok', 'refused' or 'unknown'. */
  const judge = (kind, reply, describe) => {
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
    if (!REFUSALS.has(reply.status)) stats.violation(`${describe}: ${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`);
    return 'refused';
  };

  const documentPath = (id) => `/v1/${options.docs}/${id}`;

  /** The per-item results of a _bulk answer: acknowledgements, unknown outcomes, answers outside the contract. */
  const settleItems = (results, items, { describe, acked, unknown }) =>
    items.forEach((item, i) => {
      const result = results[i];
      if (result.error?.outcome === 'unknown') unknown(item);
      if (!result.error) acked(item, result);
      else if (!REFUSALS.has(result.error.status)) stats.violation(`${describe(item)}: ${JSON.stringify(result.error)}`);
    });

  /** Sends one operation and enters its answer; returns the reply ({ error } when none came). */
  const execute = async (op) => {
    switch (op.kind) {
      case 'put':
      case 'create': {
        const headers = op.conditional ? { 'if-match': `"${ledger.lastAckedVersion(op.id)}"` } : {};
        const reply =
          op.kind === 'put'
            ? await send('PUT', documentPath(op.id), op.body, headers)
            : await send('POST', `/v1/${options.docs}`, { ...op.body, id: op.id });
        const outcome = judge(op.conditional ? 'put-if-match' : op.kind, reply, `${op.kind} ${op.id}`);
        if (outcome === 'ok') ledger.acked(op.id, reply.body.version, { op: 'put', body: { ...op.body, id: op.id } });
        if (outcome === 'unknown') ledger.unknownOutcome(op.id);
        return reply;
      }
      case 'patch':
      case 'delete': {
        const reply = await send(op.kind === 'patch' ? 'PATCH' : 'DELETE', documentPath(op.id), op.body);
        const outcome = judge(op.kind, reply, `${op.kind} ${op.id}`);
        if (outcome === 'ok') ledger.acked(op.id, reply.body.version, { op: op.kind, body: op.body });
        if (outcome === 'unknown') ledger.unknownOutcome(op.id);
        return reply;
      }
      case 'event': {
        const reply = await send('POST', `/v1/${options.events}`, op.body);
        const outcome = judge('event', reply, `event ${op.id}`);
        if (outcome === 'ok') ledger.events.set(op.id, op.body);
        if (outcome === 'unknown') ledger.unknownEvents.add(op.id);
        return reply;
      }
      case 'bulk-docs': {
        const reply = await send('POST', `/v1/${options.docs}/_bulk`, { ops: op.items });
        const outcome = judge('bulk-docs', reply, `_bulk of ${op.items.length} documents`);
        if (outcome === 'unknown') op.items.forEach((item) => ledger.unknownOutcome(item.id));
        if (outcome === 'ok') {
          settleItems(reply.body.results, op.items, {
            describe: (item) => `_bulk item ${item.op} ${item.id}`,
            acked: (item, result) => {
              const body = item.op === 'put' ? { ...item.doc, id: item.id } : item.doc;
              ledger.acked(item.id, result.version, { op: item.op, body });
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
          settleItems(reply.body.results, op.events, {
            describe: (e) => `_bulk event ${e.id}`,
            acked: (e) => ledger.events.set(e.id, e.body),
            unknown: (e) => ledger.unknownEvents.add(e.id),
          });
        }
        return reply;
      }
      default:
        throw new Error(`unknown operation ${op.kind}`);
    }
  };

  const client = async () => {
    while (running) {
      await pace();
      if (!running) return;
      const reply = await execute(source.next());
      // While ingest is down every request fails at once: do not spin.
      if ('error' in reply) await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  };

  const clients = Promise.all(Array.from({ length: options.concurrency }, client));

  return {
    /** Stops sending; resolves once every request in flight has its answer. */
    async stop() {
      running = false;
      await clients;
      await pool.close();
    },
  };
}
