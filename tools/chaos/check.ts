// The end-of-run verdict: the database (PostgreSQL or MariaDB) against Redis, both against the client's ledger, the
// streams against what must be left on them, and the dead-letter streams against the poison the run injected. Every
// partition of each collection is read; on a Redis Cluster, every master is scanned.
//
// What must hold, whatever the run: the database equals Redis for every document; every acknowledged write is
// reflected by Redis and every acknowledged event has its row; nothing is pending; the dead letters are exactly the
// poison. One exception, counted and never hidden: a Redis Cluster master's or a Sentinel master's SIGKILL can lose
// writes it acknowledged and had not yet replicated (asynchronous replication). Such a loss is "lost by failover" only
// when it is on a partition of the killed master, was acknowledged within that kill's LossWindow, and its answer named
// the `memory` durability level; any other loss, including one in a graceful failover or a resharding, or of a write
// acknowledged as replicated (or further), is a mismatch.
import { isDeepStrictEqual } from 'node:util';
import {
  allPartitions,
  DeadLetterField,
  decodeEntry,
  DEFAULT_SINK_GROUP,
  DocField,
  type PartitionedCollection,
  partitionOf,
} from '@app/contracts';
import { forEachKeyWithPrefix, type RedisClient } from '@app/redis';
import type { DatabaseReader } from '../local-stack';
import { type FailoverLoss, FailoverLosses, type MasterKill } from './failover-losses';
import { DELETED, type Ledger, UNKNOWN } from './ledger';
import type { Poison } from './poison';

const EXAMPLES_KEPT = 20;

interface RedisDocument {
  live: boolean;
  version: number;
  doc?: unknown;
}

export interface Verdict {
  documents: { ids: number; rows: number; exact: number; deleted: number; ambiguous: number };
  lostByFailover: FailoverLoss;
  events: { acknowledged: number; rows: number; unanswered: number };
  pending: Record<string, number>;
  deadLetters: { id: string | undefined; reason: string | undefined }[];
  mismatches: number;
  mismatchesByKind: Record<string, number>;
  examples: string[];
}

class Findings {
  readonly counts: Record<string, number> = {};
  readonly examples: string[] = [];

  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  add(kind: string, detail: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (this.examples.length < EXAMPLES_KEPT) this.examples.push(`${kind}: ${detail}`);
  }
}

/** Every document hash of the collection, live or tombstone, over every partition. */
async function redisDocuments(
  redis: RedisClient,
  collection: PartitionedCollection,
): Promise<Map<string, RedisDocument>> {
  const found = new Map<string, RedisDocument>();
  for (const keys of allPartitions(collection)) await readDocuments(redis, keys.document(''), found);

  return found;
}

async function readDocuments(redis: RedisClient, prefix: string, found: Map<string, RedisDocument>): Promise<void> {
  await forEachKeyWithPrefix(redis, prefix, async (keys) => {
    const pipeline = redis.pipeline();
    keys.forEach((key) => pipeline.hmget(key, DocField.VERSION, DocField.DOC, DocField.DELETED));
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const [v, d, x] = (replies[i]?.[1] ?? []) as (string | null)[];
      const live = x !== '1' && typeof d === 'string';
      found.set(key.slice(prefix.length), {
        live,
        version: Number(v),
        doc: live ? (JSON.parse(d) as unknown) : undefined,
      });
    });
  });
}

export async function checkConvergence({
  redis,
  database,
  ledger,
  docs,
  events,
  poison,
  masterKills = [],
}: {
  /** one server's client or a cluster client */
  redis: RedisClient;
  /** the stack's database, whatever its kind */
  database: DatabaseReader;
  ledger: Ledger;
  docs: PartitionedCollection;
  events: PartitionedCollection;
  poison: readonly Poison[];
  /** the run's master kills, in order: the only faults that may lose acknowledged writes */
  masterKills?: readonly MasterKill[];
}): Promise<Verdict> {
  const findings = new Findings();
  const losses = new FailoverLosses(masterKills);
  const [inRedis, rowResult, tombResult, eventResult] = await Promise.all([
    redisDocuments(redis, docs),
    database.rows<{ id: string; version: string; doc: unknown }>(docs.name, { columns: ['id', 'version', 'doc'] }),
    // every collection's: a short table, filtered here in the same way on either database
    database.rows<{ collection: string; id: string; version: string }>('spillway_tombstones', {
      columns: ['collection', 'id', 'version'],
    }),
    database.rows<{ id: string; doc: unknown }>(events.name, { columns: ['id', 'doc'] }),
  ]);
  const rows = new Map(rowResult.map((r) => [r.id, { version: Number(r.version), doc: r.doc }]));
  const tombstones = new Map(
    tombResult.filter((r) => r.collection === docs.name).map((r) => [r.id, Number(r.version)]),
  );

  let exact = 0;
  let ambiguous = 0;
  let deletedChecked = 0;
  const ids = new Set([...inRedis.keys(), ...rows.keys(), ...ledger.documents.keys()]);
  for (const id of ids) {
    const cached = inRedis.get(id);
    const row = rows.get(id);
    // A delete that was written behind leaves no hash in Redis; its version is kept in the tombstones table.
    const finalVersion = cached?.version ?? tombstones.get(id) ?? 0;
    const live = cached?.live ?? false;

    if (cached && live && !row) findings.add('row missing', `${id} v${cached.version} is live in Redis`);
    if (!live && row) {
      const inCache = cached ? `tombstone v${cached.version}` : 'none';
      findings.add('deleted document has a row', `${id} row v${row.version}, Redis ${inCache}`);
    }
    if (cached && live && row && (row.version !== cached.version || !isDeepStrictEqual(row.doc, cached.doc))) {
      findings.add(
        'row differs from Redis',
        `${id} row v${row.version} ${JSON.stringify(row.doc)} vs Redis v${cached.version} ${JSON.stringify(cached.doc)}`,
      );
    }

    const record = ledger.documents.get(id);
    if (!record) {
      if (live || row) findings.add('document nobody wrote', id);
      continue;
    }
    const partition = `${docs.name}.${partitionOf(id, docs.partitions)}`;
    // Two acknowledgements of one version: Redis lost the first and gave its version out again.
    for (const { version, firstSeq, seq, lostLevel } of record.reissued) {
      const kill = firstSeq === undefined ? losses.lastKillBefore(partition, seq) : losses.killOf(partition, firstSeq);
      if (kill === undefined) {
        const first = firstSeq === undefined ? 'first request forgotten' : `first in request #${firstSeq}`;
        findings.add('one version acknowledged twice', `${id} v${version} (${first}, second in #${seq})`);
      } else if (lostLevel !== undefined) {
        findings.add(`acknowledged ${lostLevel} write lost`, `${id} v${version} (request #${firstSeq}), reissued`);
      } else losses.add(kill, 'documentWrites', 1);
    }
    // The version whose acknowledged state Redis must hold.
    let settled = record.maxAcked;
    if (finalVersion < record.maxAcked) {
      // Redis holds an older version than the newest acknowledged: every acknowledged write after it is gone.
      const kill = losses.killOf(partition, record.maxAckedSeq);
      if (kill === undefined) {
        findings.add(
          'acknowledged write lost',
          `${id} acknowledged v${record.maxAcked} (request #${record.maxAckedSeq}), holds v${finalVersion}`,
        );
        continue;
      }
      const durableLost = record.durableVersions.countAbove(finalVersion);
      if (durableLost > 0) {
        findings.add(
          'acknowledged replicated (or further) write lost',
          `${id}: ${durableLost} such versions above v${finalVersion}, which Redis holds`,
        );
      }
      losses.add(kill, 'documentWrites', record.versions.countAbove(finalVersion) - durableLost);
      if (!record.versions.has(finalVersion)) {
        ambiguous += 1; // what Redis kept was itself never acknowledged (or nothing is left)
        continue;
      }
      settled = finalVersion;
    } else if (finalVersion - record.maxAcked > record.unknown) {
      findings.add(
        'versions nobody wrote',
        `${id} acknowledged v${record.maxAcked}, holds v${finalVersion}, ${record.unknown} unanswered requests`,
      );
      continue;
    } else if (finalVersion > record.maxAcked || record.maxAcked === 0) {
      ambiguous += 1; // an unanswered request was applied after the last acknowledged one
      continue;
    }
    const expected = ledger.stateAt(id, settled);
    if (expected === UNKNOWN) {
      ambiguous += 1;
    } else if (expected === DELETED) {
      deletedChecked += 1;
      if (live) findings.add('deleted document is live in Redis', `${id} v${finalVersion}`);
    } else {
      exact += 1;
      if (!live || !isDeepStrictEqual(cached?.doc, expected)) {
        findings.add(
          'Redis differs from the acknowledged writes',
          `${id} v${finalVersion}: ${JSON.stringify(cached?.doc)} vs ${JSON.stringify(expected)}`,
        );
      }
    }
  }

  const eventRows = new Map(eventResult.map((r) => [r.id, r.doc]));
  for (const [id, body] of ledger.events) {
    const doc = eventRows.get(id);
    if (doc === undefined) {
      const partition = `${events.name}.${partitionOf(id, events.partitions)}`;
      const kill = losses.killOf(partition, ledger.eventRequests.get(id) ?? 0);
      if (kill === undefined) findings.add('acknowledged event missing', id);
      else if (ledger.durableEvents.has(id)) findings.add('acknowledged replicated (or further) event missing', id);
      else losses.add(kill, 'events', 1);
    } else if (!isDeepStrictEqual(doc, body)) {
      findings.add('event row differs', `${id}: ${JSON.stringify(doc)} vs ${JSON.stringify(body)}`);
    }
  }
  for (const id of eventRows.keys()) {
    if (!ledger.events.has(id) && !ledger.unknownEvents.has(id)) findings.add('event nobody sent', id);
  }

  const pending = await pendingCounts(redis, [docs, events]);
  for (const [collection, count] of Object.entries(pending)) {
    if (count > 0) findings.add('entries left pending', `${collection}: ${count}`);
  }

  const letters = await deadLetters(redis, [docs, events]);
  const injected = new Set(poison.map((p) => p.streamId));
  const lettered = new Map<string | undefined, number>();
  for (const letter of letters) lettered.set(letter.sourceId, (lettered.get(letter.sourceId) ?? 0) + 1);
  for (const letter of letters) {
    if (letter.sourceId === undefined || !injected.has(letter.sourceId)) {
      findings.add('dead letter the run did not make', `${letter.id} (${letter.reason})`);
    }
  }
  for (const p of poison) {
    const times = lettered.get(p.streamId) ?? 0;
    if (times === 0) findings.add('poison entry not dead-lettered', `${p.collection} ${p.streamId} ${p.why}`);
    if (times > 1) findings.add('poison entry dead-lettered more than once', `${p.streamId} ${times}×`);
    if (rows.has(p.id) || eventRows.has(p.id)) findings.add('poison entry has a row', p.id);
  }

  return {
    documents: { ids: ids.size, rows: rows.size, exact, deleted: deletedChecked, ambiguous },
    lostByFailover: losses.total,
    events: { acknowledged: ledger.events.size, rows: eventRows.size, unanswered: ledger.unknownEvents.size },
    pending,
    deadLetters: letters.map((l) => ({ id: l.id, reason: l.reason })),
    mismatches: findings.total,
    mismatchesByKind: findings.counts,
    examples: findings.examples,
  };
}

/** Entries delivered and not acked, by collection, over every partition. */
async function pendingCounts(
  redis: RedisClient,
  collections: readonly PartitionedCollection[],
): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const collection of collections) {
    let pending = 0;
    for (const { stream } of allPartitions(collection)) {
      pending += Number((await redis.xpending(stream, DEFAULT_SINK_GROUP))[0]);
    }
    result[collection.name] = pending;
  }

  return result;
}

interface Letter {
  /** the document or event id of the entry, when the entry can be decoded */
  id: string | undefined;
  sourceId: string | undefined;
  reason: string | undefined;
}

const DEAD_LETTER_FIELDS = new Set<string>(Object.values(DeadLetterField));

/**
 * A dead letter keeps its entry's fields and adds the DeadLetterField ones (libs/redis/src/lua/deadLetter-2.lua):
 * split them apart and decode the entry as the sink does, whatever its layout.
 */
function readLetter(list: readonly string[]): Letter {
  const entry: string[] = [];
  const extra = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) {
    const [name, value] = [list[i] as string, list[i + 1] as string];
    if (DEAD_LETTER_FIELDS.has(name)) extra.set(name, value);
    else entry.push(name, value);
  }
  const sourceId = extra.get(DeadLetterField.SOURCE_ID);
  let id: string | undefined;
  try {
    id = decodeEntry(sourceId ?? '0-0', entry).id;
  } catch {
    id = undefined; // an entry the sink could not decode either: the letter still counts, by its source id
  }

  return { id, sourceId, reason: extra.get(DeadLetterField.REASON) };
}

/** Every dead letter of the collections, over every partition. */
async function deadLetters(redis: RedisClient, collections: readonly PartitionedCollection[]): Promise<Letter[]> {
  const letters: Letter[] = [];
  for (const keys of collections.flatMap((collection) => allPartitions(collection))) {
    const entries = await redis.xrange(keys.deadLetters, '-', '+');
    letters.push(...entries.map(([, list]) => readLetter(list)));
  }

  return letters;
}
