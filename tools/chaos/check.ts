// The end-of-run verdict: the database (PostgreSQL or MariaDB) against Redis, both against the client's ledger, the
// stream against what must be left on it, and the dead-letter stream against the poison the run injected.
import { isDeepStrictEqual } from 'node:util';
import type { Redis } from 'ioredis';
import { DeadLetterField, decodeEntry, DEFAULT_SINK_GROUP, DocField, partitionKeys } from '@app/contracts';
import { forEachKeyWithPrefix } from '@app/redis';
import type { DatabaseReader } from '../local-stack';
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

/** Every document hash of the collection, live or tombstone. */
async function redisDocuments(redis: Redis, collection: string): Promise<Map<string, RedisDocument>> {
  const prefix = partitionKeys(collection).document('');
  const found = new Map<string, RedisDocument>();
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

  return found;
}

export async function checkConvergence({
  redis,
  database,
  ledger,
  docs,
  events,
  poison,
}: {
  redis: Redis;
  /** the stack's database, whatever its kind */
  database: DatabaseReader;
  ledger: Ledger;
  docs: string;
  events: string;
  poison: readonly Poison[];
}): Promise<Verdict> {
  const findings = new Findings();
  const [inRedis, rowResult, tombResult, eventResult] = await Promise.all([
    redisDocuments(redis, docs),
    database.rows<{ id: string; version: string; doc: unknown }>(docs, { columns: ['id', 'version', 'doc'] }),
    // every collection's: a short table, filtered here in the same way on either database
    database.rows<{ collection: string; id: string; version: string }>('spillway_tombstones', {
      columns: ['collection', 'id', 'version'],
    }),
    database.rows<{ id: string; doc: unknown }>(events, { columns: ['id', 'doc'] }),
  ]);
  const rows = new Map(rowResult.map((r) => [r.id, { version: Number(r.version), doc: r.doc }]));
  const tombstones = new Map(tombResult.filter((r) => r.collection === docs).map((r) => [r.id, Number(r.version)]));

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
    if (record.duplicateVersions > 0) {
      findings.add('one version acknowledged twice', `${id} (${record.duplicateVersions}×)`);
    }
    if (finalVersion < record.maxAcked) {
      findings.add('acknowledged write lost', `${id} acknowledged v${record.maxAcked}, holds v${finalVersion}`);
      continue;
    }
    if (finalVersion - record.maxAcked > record.unknown) {
      findings.add(
        'versions nobody wrote',
        `${id} acknowledged v${record.maxAcked}, holds v${finalVersion}, ${record.unknown} unanswered requests`,
      );
      continue;
    }
    if (finalVersion > record.maxAcked || record.maxAcked === 0) {
      ambiguous += 1; // an unanswered request was applied after the last acknowledged one
      continue;
    }
    const expected = ledger.stateAt(id, record.maxAcked);
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
    if (doc === undefined) findings.add('acknowledged event missing', id);
    else if (!isDeepStrictEqual(doc, body)) {
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
    events: { acknowledged: ledger.events.size, rows: eventRows.size, unanswered: ledger.unknownEvents.size },
    pending,
    deadLetters: letters.map((l) => ({ id: l.id, reason: l.reason })),
    mismatches: findings.total,
    mismatchesByKind: findings.counts,
    examples: findings.examples,
  };
}

async function pendingCounts(redis: Redis, collections: readonly string[]): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const collection of collections) {
    const summary = await redis.xpending(partitionKeys(collection).stream, DEFAULT_SINK_GROUP);
    result[collection] = Number(summary[0]);
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

async function deadLetters(redis: Redis, collections: readonly string[]): Promise<Letter[]> {
  const letters: Letter[] = [];
  for (const collection of collections) {
    const entries = await redis.xrange(partitionKeys(collection).deadLetters, '-', '+');
    letters.push(...entries.map(([, list]) => readLetter(list)));
  }

  return letters;
}
