// The checks after a fuzz run's drain: the processes, what landed in PostgreSQL, and that refused requests left
// no trace anywhere.
import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import {
  allPartitions,
  DEFAULT_SINK_GROUP,
  groupMembersKey,
  partitionCountKey,
  type PartitionKeys,
  partitioned,
} from '@app/contracts';
import type { Stack } from '../local-stack';
import { COLLECTIONS, DOCS, EVENTS, HOSTILE } from './collections';
import type { Ledger } from './ledger';
import type { SlowResult } from './slow-clients';

export interface Check {
  name: string;
  passed: boolean;
  detail: string;
}

const fmtExamples = (list: readonly string[]): string => (list.length === 0 ? '' : `: ${list.slice(0, 5).join('; ')}`);

export function slowChecks(results: readonly SlowResult[]): Check[] {
  if (results.length === 0) return [];
  const bad = results.filter(
    (r) => !r.closedByServer || (r.status !== undefined && (r.status !== 408 || !r.problemJson)),
  );
  const detail = results
    .map(
      (r) =>
        `${r.kind}: ${r.closedByServer ? `${r.status ?? 'closed'} after ${r.seconds} s` : `still open after ${r.seconds} s`}`,
    )
    .join('; ');

  return [{ name: 'slow clients cut off (408 or close)', passed: bad.length === 0, detail }];
}

export async function processChecks(stack: Stack): Promise<Check[]> {
  const apps = [stack.ingestApp, ...stack.sinks];
  const exits = stack.unexpectedExits();
  const notReady: string[] = [];
  for (const app of apps) {
    if (!app.running) {
      notReady.push(`${app.name} not running`);
      continue;
    }
    try {
      const res = await fetch(`${app.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) notReady.push(`${app.name} ready ${res.status}`);
    } catch (error) {
      notReady.push(`${app.name} ready: ${(error as Error).message}`);
    }
  }

  return [
    {
      name: 'no process crashed',
      passed: exits.length === 0,
      detail: exits.length === 0 ? `${apps.length} processes ran throughout` : JSON.stringify(exits),
    },
    {
      name: 'ingest and sinks running and ready',
      passed: notReady.length === 0,
      detail: notReady.join('; ') || `${apps.length} of ${apps.length} ready`,
    },
  ];
}

/**
 * PostgreSQL against the ledger: every live document with its last acknowledged version and content, no other
 * row; every acknowledged event once, as sent.
 */
export async function landingChecks(
  stack: Stack,
  ledger: Ledger,
): Promise<{ rows: number; events: number; checks: Check[] }> {
  const pool = stack.pgPool;
  const { rows } = await pool.query<{ id: string; version: string; doc: unknown }>(
    `SELECT id, version, doc FROM ${DOCS}`,
  );
  const expected = ledger.expectedRows();
  const mismatches: string[] = [];
  const found = new Map(rows.map((r) => [r.id, r]));
  for (const [id, want] of expected) {
    const row = found.get(id);
    if (!row) mismatches.push(`${id}: no row (expected version ${want.version})`);
    else if (Number(row.version) !== want.version) {
      mismatches.push(`${id}: version ${row.version}, acknowledged ${want.version}`);
    } else if (!isDeepStrictEqual(row.doc, want.doc)) {
      mismatches.push(`${id}: document differs from the acknowledged one`);
    }
  }
  for (const row of rows) if (!expected.has(row.id)) mismatches.push(`${row.id}: row for a document that is not live`);

  const events = await pool.query<{ id: string; doc: unknown }>(`SELECT id, doc FROM ${EVENTS}`);
  const eventMismatches: string[] = [];
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
        detail:
          `${expected.size} live documents expected, ${rows.length} rows; ${mismatches.length} mismatches` +
          fmtExamples([...mismatches, ...ledger.anomalies]),
      },
      {
        name: 'valid events landed once',
        passed: eventMismatches.length === 0,
        detail:
          `${ledger.events.size} acknowledged, ${events.rows.length} rows; ${eventMismatches.length} mismatches` +
          fmtExamples(eventMismatches),
      },
    ],
  };
}

/**
 * Whether a Redis key is one a refused request could have left: anything but a stream, dead-letter stream, epoch,
 * replication mark, sink lease or partition count of a collection, the sinks' membership, or a valid document of fz_docs and fz_events (the sinks create every collection's stream and group with MKSTREAM),
 * so a document of fz_hostile, of a hostile "hx-" id, or of an unknown collection.
 */
function isStrayKey(key: string): boolean {
  const known = (keys: PartitionKeys, name: string): boolean =>
    key === keys.stream ||
    key === keys.deadLetters ||
    key === keys.epoch ||
    key === keys.replicationMark ||
    key === keys.lease(DEFAULT_SINK_GROUP) ||
    (name !== HOSTILE && key.startsWith(keys.document('')) && !key.startsWith(keys.document('hx-')));

  return (
    key !== groupMembersKey(DEFAULT_SINK_GROUP) &&
    !COLLECTIONS.some(
      (c) => key === partitionCountKey(c.name) || allPartitions(partitioned(c)).some((keys) => known(keys, c.name)),
    )
  );
}

/**
 * Redis and PostgreSQL unchanged by every refused request: no "hx-" id and nothing of fz_hostile anywhere, stream
 * entries (ever added, trimming aside) and ingest's write counter equal to the acknowledged valid writes, no
 * dead letters.
 */
export async function untouchedChecks(stack: Stack, ledger: Ledger): Promise<Check[]> {
  const redis = stack.redisClient;
  const pool = stack.pgPool;
  const strayKeys: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    strayKeys.push(...keys.filter(isStrayKey));
  } while (cursor !== '0');
  const strayRows: string[] = [];
  for (const table of [DOCS, EVENTS, HOSTILE]) {
    const { rows } = await pool.query<{ id: string }>(`SELECT id FROM ${table} WHERE id LIKE 'hx-%' OR $1 LIMIT 5`, [
      table === HOSTILE,
    ]);
    strayRows.push(...rows.map((r) => `${table}/${r.id}`));
  }
  const added = {
    docs: await entriesAdded(redis, DOCS),
    events: await entriesAdded(redis, EVENTS),
    hostile: await entriesAdded(redis, HOSTILE),
  };
  const metrics = await stack.ingestApp.metrics();
  const writes = writesByCollection(metrics);
  const dlq: Record<string, number> = {};
  for (const collection of COLLECTIONS) {
    let count = 0;
    for (const keys of allPartitions(partitioned(collection))) count += await redis.xlen(keys.deadLetters);
    dlq[collection.name] = count;
  }
  const letters = Object.values(dlq).reduce((a, b) => a + b, 0);
  const want = ledger.entries;

  return [
    {
      name: 'refused requests left no trace',
      passed: strayKeys.length === 0 && strayRows.length === 0,
      detail:
        `${strayKeys.length} Redis keys, ${strayRows.length} PostgreSQL rows of hostile ids or ${HOSTILE}` +
        fmtExamples([...strayKeys, ...strayRows]),
    },
    {
      name: 'stream entries = acknowledged writes',
      passed: added.docs === want.docs && added.events === want.events && added.hostile === 0,
      detail:
        `${DOCS}: ${added.docs} added, ${want.docs} acknowledged; ${EVENTS}: ${added.events} added, ` +
        `${want.events} acknowledged; ${HOSTILE}: ${added.hostile} added`,
    },
    {
      name: 'spillway_ingest_writes_total = acknowledged writes',
      passed:
        (writes[DOCS] ?? 0) === want.docs && (writes[EVENTS] ?? 0) === want.events && (writes[HOSTILE] ?? 0) === 0,
      detail:
        `${DOCS} ${writes[DOCS] ?? 0}, ${EVENTS} ${writes[EVENTS] ?? 0} (duplicates not counted), ` +
        `${HOSTILE} ${writes[HOSTILE] ?? 0}`,
    },
    { name: 'dead-letter streams empty', passed: letters === 0, detail: JSON.stringify(dlq) },
  ];
}

/** Entries ever added to a collection's streams (XINFO STREAM entries-added, Redis 7): trimming does not lower it. */
async function entriesAdded(redis: Redis, collection: string): Promise<number> {
  let total = 0;
  const spec = COLLECTIONS.find((c) => c.name === collection) ?? { name: collection };
  for (const keys of allPartitions(partitioned(spec))) {
    try {
      const info = (await redis.xinfo('STREAM', keys.stream)) as unknown[];
      total += Number(info[info.indexOf('entries-added') + 1]);
    } catch {
      // no stream: nothing was ever added
    }
  }

  return total;
}

/** spillway_ingest_writes_total by collection, without the `duplicate` outcome (an event already held adds no entry). */
function writesByCollection(text: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const match of text.matchAll(/^spillway_ingest_writes_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = match[1] ?? '';
    const collection = /collection="([^"]*)"/.exec(labels)?.[1] ?? '';
    const op = /op="([^"]*)"/.exec(labels)?.[1] ?? '';
    if (op !== 'duplicate') sums[collection] = (sums[collection] ?? 0) + Number(match[2]);
  }

  return sums;
}
