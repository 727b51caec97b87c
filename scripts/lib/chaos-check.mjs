// The end-of-run verdict: PostgreSQL against Redis, both against the client's ledger, the stream against
// what must be left on it, and the dead-letter stream against the poison the run injected.
import { isDeepStrictEqual } from 'node:util';
import { DELETED, UNKNOWN } from './chaos-ledger.mjs';
import { forEachKeyWithPrefix, GROUP, partitionKeys } from './stack.mjs';

const EXAMPLES_KEPT = 20;

/**
 * @typedef {import('./chaos-ledger.mjs').Ledger} Ledger
 * @typedef {{ streamId: string, id: string, collection: string, why: string }} Poison
 * @typedef {{ live: boolean, version: number, doc?: unknown }} RedisDocument
 */

class Findings {
  constructor() {
    /** @type {Record<string, number>} */
    this.counts = {};
    /** @type {string[]} */
    this.examples = [];
  }

  get total() {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  add(kind, detail) {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    if (this.examples.length < EXAMPLES_KEPT) this.examples.push(`${kind}: ${detail}`);
  }
}

/** Field list of a stream entry or hash reply as an object. */
function fieldsOf(list) {
  const fields = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[list[i]] = list[i + 1];
  return fields;
}

/** @returns {Promise<Map<string, RedisDocument>>} every document hash of the collection, live or tombstone */
async function redisDocuments(redis, collection) {
  const prefix = partitionKeys(collection).document('');
  const found = new Map();
  await forEachKeyWithPrefix(redis, prefix, async (keys) => {
    const pipeline = redis.pipeline();
    keys.forEach((key) => pipeline.hmget(key, 'v', 'd', 'x'));
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const [v, d, x] = /** @type {(string | null)[]} */ (replies[i][1]);
      const live = x !== '1' && d !== null;
      found.set(key.slice(prefix.length), { live, version: Number(v), doc: live ? JSON.parse(/** @type {string} */ (d)) : undefined });
    });
  });
  return found;
}

/**
 * @param {{ redis: import('ioredis').Redis, pg: import('pg').Pool, ledger: Ledger, docs: string, events: string, poison: Poison[] }} params
 */
export async function checkConvergence({ redis, pg, ledger, docs, events, poison }) {
  const findings = new Findings();
  const [inRedis, rowResult, tombResult, eventResult] = await Promise.all([
    redisDocuments(redis, docs),
    pg.query(`SELECT id, version, doc FROM "${docs}"`),
    pg.query('SELECT id, version FROM spillway_tombstones WHERE collection = $1', [docs]),
    pg.query(`SELECT id, doc FROM "${events}"`),
  ]);
  const rows = new Map(rowResult.rows.map((r) => [r.id, { version: Number(r.version), doc: r.doc }]));
  const tombstones = new Map(tombResult.rows.map((r) => [r.id, Number(r.version)]));

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

    if (live && !row) findings.add('row missing', `${id} v${cached.version} is live in Redis`);
    if (!live && row) findings.add('deleted document has a row', `${id} row v${row.version}, Redis ${cached ? `tombstone v${cached.version}` : 'none'}`);
    if (live && row && (row.version !== cached.version || !isDeepStrictEqual(row.doc, cached.doc))) {
      findings.add('row differs from Redis', `${id} row v${row.version} ${JSON.stringify(row.doc)} vs Redis v${cached.version} ${JSON.stringify(cached.doc)}`);
    }

    const record = ledger.documents.get(id);
    if (!record) {
      if (live || row) findings.add('document nobody wrote', id);
      continue;
    }
    if (record.duplicateVersions > 0) findings.add('one version acknowledged twice', `${id} (${record.duplicateVersions}×)`);
    if (finalVersion < record.maxAcked) {
      findings.add('acknowledged write lost', `${id} acknowledged v${record.maxAcked}, holds v${finalVersion}`);
      continue;
    }
    if (finalVersion - record.maxAcked > record.unknown) {
      findings.add('versions nobody wrote', `${id} acknowledged v${record.maxAcked}, holds v${finalVersion}, ${record.unknown} unanswered requests`);
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
      if (!live || !isDeepStrictEqual(cached.doc, expected)) {
        findings.add('Redis differs from the acknowledged writes', `${id} v${finalVersion}: ${JSON.stringify(cached?.doc)} vs ${JSON.stringify(expected)}`);
      }
    }
  }

  const eventRows = new Map(eventResult.rows.map((r) => [r.id, r.doc]));
  for (const [id, body] of ledger.events) {
    const doc = eventRows.get(id);
    if (doc === undefined) findings.add('acknowledged event missing', id);
    else if (!isDeepStrictEqual(doc, body)) findings.add('event row differs', `${id}: ${JSON.stringify(doc)} vs ${JSON.stringify(body)}`);
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
  const lettered = new Map();
  for (const letter of letters) lettered.set(letter.sourceId, (lettered.get(letter.sourceId) ?? 0) + 1);
  for (const letter of letters) {
    if (!injected.has(letter.sourceId)) findings.add('dead letter the run did not make', `${letter.id} (${letter.reason})`);
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

async function pendingCounts(redis, collections) {
  const result = {};
  for (const collection of collections) {
    const summary = /** @type {any[]} */ (await redis.xpending(partitionKeys(collection).stream, GROUP));
    result[collection] = Number(summary[0]);
  }
  return result;
}

async function deadLetters(redis, collections) {
  const letters = [];
  for (const collection of collections) {
    const entries = await redis.xrange(partitionKeys(collection).deadLetters, '-', '+');
    for (const [, list] of entries) {
      const fields = fieldsOf(list);
      // A dead letter keeps its entry's fields (libs/contracts/src/streams.ts): layout 3 names the id in its first
      // field, the header `3 <op> <id> …`, layout 1 in `id`. The run's own poison is layout 1; a letter the sink made
      // is layout 3.
      const id = list[0].startsWith('3 ') ? list[0].split(' ')[2] : fields.id;
      letters.push({ id, sourceId: fields.source_id, reason: fields.reason });
    }
  }
  return letters;
}
