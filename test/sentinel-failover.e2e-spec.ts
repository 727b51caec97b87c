import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { allPartitions, DocField } from '@app/contracts';
import { forEachKeyWithPrefix } from '@app/redis';
import { Stack } from '../tools/local-stack';

const DOCS = 'sentinel_docs';
const EVENTS = 'sentinel_events';
const PARTITIONS = 2;

/** The level a 202 names in its `Durability` header; `memory` when the header is not there. */
type Level = string;

interface Ack {
  step: number;
  version: number;
  level: Level;
}

/** What a client knows of its writes to one document, written one at a time (so in step and version order). */
interface DocumentLedger {
  acks: Ack[];
  /** steps answered 503 with outcome unknown, or never answered: Redis may hold any of them */
  unknown: Set<number>;
}

interface Run {
  documents: Map<string, DocumentLedger>;
  /** acknowledged events, with the level their 202 named */
  events: Map<string, Level>;
  maybeEvents: Set<string>;
  refused: number;
  /** 202s answered after the new master was promoted: the apps work on without a restart */
  acksAfterFailover: number;
}

/** What the database and Redis hold against the ledger, by durability level. */
interface Verdict {
  acknowledged: Record<Level, number>;
  /** acknowledged writes Redis no longer reflects (asynchronous replication), by the level their 202 named */
  lost: Record<Level, number>;
  /** documents whose row differs from what the surviving Redis holds */
  mismatches: number;
  /** documents whose row is a write the failover lost (the sink wrote it before a replica held it) */
  rowsOfLostWrites: number;
  examples: string[];
}

const levelOf = (header: string | null): Level => header ?? 'memory';
const bump = (counts: Record<Level, number>, level: Level, by = 1) => (counts[level] = (counts[level] ?? 0) + by);

/**
 * The pipeline on Redis Sentinel (a primary, one replica, three Sentinels: tools/local-stack/redis-sentinel.ts),
 * ingest and two sinks as processes that find the master through the Sentinels. Under steady load the primary is
 * SIGKILLed; the Sentinels promote the replica, and ingest and the sinks must follow it without a restart. Half the
 * writers ask for `Durability: replicated`: each of those writes the 202 says was replicated must be in the database
 * at the end. What the failover lost of the `memory` writes is counted and printed (it may be 0 or more: the replica
 * is close behind on loopback); among what the surviving Redis kept, the database must equal Redis.
 *
 * Real: everything (built apps, 2 redis-server and 3 Sentinels, PostgreSQL). Mocked: nothing.
 */
describe('pipeline on Redis Sentinel', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = new Stack({
      dir: mkdtempSync(join(tmpdir(), 'spillway-sentinel-e2e-')),
      replicas: 2,
      redisSentinel: {},
      redisFsync: 'everysec',
      collections: [
        { name: DOCS, kind: 'document', schema: { type: 'object', required: ['owner'] }, partitions: PARTITIONS },
        { name: EVENTS, kind: 'event', partitions: PARTITIONS },
      ],
      sinkEnv: { SINK_BLOCK_MS: '200', SINK_CLAIM_IDLE_MS: '1500', SINK_LEASE_TTL_MS: '3000' },
    });
    await stack.start();
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  /**
   * `writers` clients, each writing its own `idsPerWriter` documents in turn (PUT with a new step each time) and one
   * event per round, until `until` resolves; the odd writers ask for `Durability: replicated`.
   */
  async function writeUntil(until: Promise<unknown>, promotedAt: () => number | undefined, writers = 8, ids = 10) {
    const run: Run = {
      documents: new Map(),
      events: new Map(),
      maybeEvents: new Set(),
      refused: 0,
      acksAfterFailover: 0,
    };
    let done = false;
    void until.finally(() => (done = true));
    const send = async (method: string, path: string, body: unknown, replicated: boolean) => {
      try {
        const response = await fetch(`${stack.ingestUrl}${path}`, {
          method,
          headers: { 'content-type': 'application/json', ...(replicated ? { durability: 'replicated' } : {}) },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(20_000),
        });
        const answer = (await response.json()) as { version?: number; outcome?: string };

        return { status: response.status, answer, level: levelOf(response.headers.get('durability')) };
      } catch {
        return { status: 0, answer: { outcome: 'unknown' }, level: 'memory' }; // no answer: outcome unknown
      }
    };
    const afterFailover = () => {
      const at = promotedAt();
      if (at !== undefined && Date.now() > at) run.acksAfterFailover++;
    };
    const writer = async (w: number) => {
      const replicated = w % 2 === 1;
      for (let step = 1; !done || step <= 3; step++) {
        for (let i = 0; i < ids; i++) {
          const id = `w${w}-d${i}`;
          const entry = run.documents.get(id) ?? { acks: [], unknown: new Set<number>() };
          run.documents.set(id, entry);
          const reply = await send('PUT', `/v1/${DOCS}/${id}`, { owner: `w${w}`, step }, replicated);
          if (reply.status === 202) {
            entry.acks.push({ step, version: Number(reply.answer.version), level: reply.level });
            afterFailover();
          } else if (reply.status === 503 || reply.status === 0) {
            run.refused++;
            if (reply.answer.outcome === 'unknown') entry.unknown.add(step);
          } else {
            throw new Error(`PUT ${id}: ${reply.status} ${JSON.stringify(reply.answer)}`);
          }
        }
        const eventId = `w${w}-e${step}`;
        const event = await send('POST', `/v1/${EVENTS}`, { id: eventId, n: step }, replicated);
        if (event.status === 202) run.events.set(eventId, event.level);
        else if (event.status === 503 || event.status === 0) {
          run.refused++;
          if (event.answer.outcome === 'unknown') run.maybeEvents.add(eventId);
        } else throw new Error(`POST ${eventId}: ${event.status} ${JSON.stringify(event.answer)}`);
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));

    return run;
  }

  /** Every live document in the surviving Redis and every row of the table: id → its body. */
  async function held(): Promise<{ redis: Map<string, unknown>; rows: Map<string, unknown> }> {
    const redis = new Map<string, unknown>();
    const client = stack.redisClient;
    for (const keys of allPartitions({ name: DOCS, partitions: PARTITIONS })) {
      const prefix = keys.document('');
      await forEachKeyWithPrefix(client, prefix, async (batch) => {
        for (const key of batch) {
          const [d, x] = await client.hmget(key, DocField.DOC, DocField.DELETED);
          if (x !== '1' && d) redis.set(key.slice(prefix.length), JSON.parse(d));
        }
      });
    }
    const rows = await stack.databaseReader.rows<{ id: string; doc: unknown }>(DOCS, { columns: ['id', 'doc'] });

    return { redis, rows: new Map(rows.map((row) => [row.id, row.doc])) };
  }

  async function verdict(run: Run): Promise<Verdict> {
    const { redis, rows } = await held();
    const result: Verdict = { acknowledged: {}, lost: {}, mismatches: 0, rowsOfLostWrites: 0, examples: [] };
    const stepOf = (doc: unknown) => (doc as { step?: number } | undefined)?.step ?? 0;
    for (const [id, entry] of run.documents) {
      const kept = stepOf(redis.get(id));
      const lost = new Set<number>();
      // Steps go up one write at a time: Redis holding step s means every acknowledged step after s is gone...
      for (const ack of entry.acks) if (ack.step > kept) lost.add(ack.step);
      // ...and a version acknowledged for two steps means the first was lost and its version handed out again.
      const byVersion = new Map<number, Ack[]>();
      for (const ack of entry.acks) byVersion.set(ack.version, [...(byVersion.get(ack.version) ?? []), ack]);
      for (const acks of byVersion.values()) for (const ack of acks.slice(0, -1)) lost.add(ack.step);
      for (const ack of entry.acks) {
        bump(result.acknowledged, ack.level);
        if (lost.has(ack.step)) bump(result.lost, ack.level);
      }
      const row = rows.get(id);
      if (!isDeepStrictEqual(row, redis.get(id))) {
        const ofLostWrite = lost.has(stepOf(row));
        if (ofLostWrite) result.rowsOfLostWrites++;
        else result.mismatches++;
        if (result.examples.length < 10) {
          result.examples.push(`${id}: row ${JSON.stringify(row)}, Redis ${JSON.stringify(redis.get(id))}`);
        }
      }
    }
    const eventRows = new Set(
      (await stack.databaseReader.rows<{ id: string }>(EVENTS, { columns: ['id'] })).map((row) => row.id),
    );
    for (const [id, level] of run.events) {
      bump(result.acknowledged, level);
      if (!eventRows.has(id)) bump(result.lost, level);
    }
    for (const id of eventRows) {
      if (!run.events.has(id) && !run.maybeEvents.has(id)) {
        result.mismatches++;
        result.examples.push(`event ${id} nobody sent`);
      }
    }

    return result;
  }

  it('SIGKILL of the master under load: ingest and the sinks follow the promoted replica without a restart; no replicated write is lost, memory losses are counted', async () => {
    const sentinel = stack.redisSentinelHandle;
    const apps = [stack.ingestApp, ...stack.sinks];
    const readiness: { app: string; t: number; status: number }[] = [];
    let promotedAt: number | undefined;
    let killedAt = 0;
    let failoverMs = 0;
    const faults = (async () => {
      await sleep(3000);
      const killed = await sentinel.killMaster();
      killedAt = Date.now();
      const sampling = (async () => {
        while (promotedAt === undefined || Date.now() - promotedAt < 3000) {
          const statuses = await Promise.all(apps.map((app) => app.readyStatus().catch(() => 0)));
          statuses.forEach((status, i) => readiness.push({ app: apps[i]!.name, t: Date.now() - killedAt, status }));
          await sleep(250);
        }
      })();
      const master = await sentinel.waitForFailover(killed.port);
      promotedAt = Date.now();
      failoverMs = promotedAt - killedAt;
      console.log(`sentinel: ${killed.port} SIGKILLed, ${master.port} promoted after ${failoverMs} ms`);
      await sampling;
      // The old primary comes back (AOF reloaded) and the Sentinels make it a replica of the new master.
      await sentinel.restart(killed.port);
      await sleep(4000);
    })();
    const run = await writeUntil(faults, () => promotedAt);
    await stack.waitDrained(120_000);

    const result = await verdict(run);
    const notReady = readiness.filter((r) => r.status !== 200);
    const readyAgain = (app: string) =>
      Math.max(0, ...readiness.filter((r) => r.app === app && r.status !== 200).map((r) => r.t));
    console.log(
      `sentinel failover under load: ${JSON.stringify({ ...result, failoverMs, refused: run.refused, acksAfterFailover: run.acksAfterFailover })}\n` +
        `readiness while failing over: ${notReady.length} of ${readiness.length} probes not ready; ` +
        apps.map((app) => `${app.name} ready again ${readyAgain(app.name)} ms after the kill`).join(', '),
    );

    expect(stack.unexpectedExits()).toEqual([]);
    expect(run.acksAfterFailover).toBeGreaterThan(100);
    expect(await Promise.all(apps.map((app) => app.readyStatus()))).toEqual(apps.map(() => 200));
    const acknowledged = Object.values(result.acknowledged).reduce((a, b) => a + b, 0);
    expect(acknowledged).toBeGreaterThan(1000);
    // Every write a 202 said was replicated (or further) is in the database; what `memory` lost is counted above.
    expect(Object.entries(result.lost).filter(([level]) => level !== 'memory')).toEqual([]);
    expect(result.examples.filter((e) => e.startsWith('event'))).toEqual([]);
    expect(result.mismatches).toBe(0);
    expect(result.rowsOfLostWrites).toBe(0);
  }, 300_000);
});
