// The fuzzer's requests: valid traffic (puts, patches, deletes, creates, events, _bulk) recorded in the ledger,
// and hostile requests of every kind issue 3 names, each with the answers the contract allows for it.
//
// Hostile requests aim only at ids starting with "hx-", at the collection fz_hostile that valid traffic never
// writes, at unknown collections, or at valid documents in ways that must be refused before anything is written
// (a bad If-Match, a PATCH whose merge cannot be stored). So after the run, no "hx-" id and no fz_hostile row may
// exist anywhere, and the stream entries must be exactly the acknowledged valid writes.
import { mulberry32 } from './loadgen-traffic.mjs';
import { mergePatch } from './merge-patch.mjs';

export const DOCS = 'fz_docs';
export const EVENTS = 'fz_events';
export const HOSTILE = 'fz_hostile';

/**
 * The per-item results of a _bulk answer: the array; undefined when the answer is not a 200 (nothing to settle);
 * or a failure message when a 200 carries no results.
 * @param {{ status: number, body: string }} answer
 * @returns {any[] | string | undefined}
 */
function bulkResults(answer) {
  if (answer.status !== 200) return undefined;
  try {
    const { results } = JSON.parse(answer.body);
    return Array.isArray(results) ? results : `200 without results: ${answer.body.slice(0, 120)}`;
  } catch {
    return `200 without results: ${answer.body.slice(0, 120)}`;
  }
}

/** The collection files the fuzz stack runs with. */
export const COLLECTIONS = [
  {
    name: DOCS,
    kind: 'document',
    schema: { type: 'object', required: ['userId'], properties: { userId: { type: 'string' }, status: { enum: ['active', 'idle', 'closed'] } } },
  },
  { name: EVENTS, kind: 'event', schema: { type: 'object', required: ['sessionId', 'screen'] } },
  // Same schema as fz_docs, so any body refused there is refused here too.
  {
    name: HOSTILE,
    kind: 'document',
    schema: { type: 'object', required: ['userId'], properties: { userId: { type: 'string' }, status: { enum: ['active', 'idle', 'closed'] } } },
  },
];

/** Largest body ingest takes (INGEST_MAX_BODY default). */
export const MAX_BODY = 1024 * 1024;
/** Deepest document ingest stores (apps/ingest/src/http/json-body.parser.ts). */
export const MAX_DOCUMENT_DEPTH = 100;

const STATUSES = ['active', 'idle', 'closed'];
const TEXTS = [
  'plain text',
  'emoji 😀👍🏽 and a flag 🇳🇱',
  'CJK 漢字かな',
  'RTL שלום مرحبا',
  'combining e\u0301 and ﬁ ligature',
  'escapes \n\t"\\/ and \u2028\u2029',
  'controls \u0001\u001f\u007f',
  'edges \uffff \ud83d\ude00 𝄞',
  '',
];
/** Member names that are legal JSON and must be stored as sent. */
const ODD_KEYS = ['constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '__proto_', 'a/b', '~0', '', 'ключ', '键', '😀', ' spaced ', 'line\nbreak', 'ctrl\u0001'];

/**
 * @typedef {import('./fuzz-http.mjs').Answer} Answer
 * @typedef {import('./fuzz-ledger.mjs').Ledger} Ledger
 * @typedef {import('./fuzz-ledger.mjs').JsonObject} JsonObject
 *
 * @typedef {{
 *   category: string,
 *   valid: boolean,
 *   transport: 'http' | 'raw',
 *   method: string,
 *   path: string,
 *   headers?: Record<string, string>,
 *   body?: string | Buffer,
 *   raw?: { chunks: (string | Buffer)[], halfClose?: boolean },
 *   expect: number[],
 *   allowClose?: boolean,
 *   locks?: string[],
 *   settle?: (answer: Answer, ledger: Ledger) => string | undefined,
 * }} FuzzCase
 */

const JSON_TYPE = { 'content-type': 'application/json' };

/** @param {string} text */
const esc = (text) => encodeURIComponent(text);

const nestedObjects = (/** @type {number} */ levels, leaf = '"x"') => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels);
const nestedArrays = (/** @type {number} */ levels) => '['.repeat(levels) + ']'.repeat(levels);

/** @param {Answer} answer */
function acknowledged(answer) {
  try {
    const body = JSON.parse(answer.body);
    return typeof body.id === 'string' && Number.isInteger(body.version) ? body : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A seeded source of cases. `next()` returns the next case; valid cases hold locks on their ids (the runner
 * releases them once answered), so writes to one id never overlap and the ledger can follow them exactly.
 * @param {{ seed: number, ids: number, ledger: Ledger }} options
 */
export function createCaseSource({ seed, ids, ledger }) {
  const rng = mulberry32(seed);
  const int = (/** @type {number} */ n) => Math.floor(rng() * n);
  const pick = (/** @type {any[]} */ list) => list[int(list.length)];
  const chance = (/** @type {number} */ p) => rng() < p;
  let hostileSeq = 0;
  let eventSeq = 0;
  const hx = () => `hx-${seed}-${++hostileSeq}`;
  const validId = (/** @type {number} */ i) => `ok-${String(i).padStart(5, '0')}`;

  /** A free valid id, locked; undefined when none came up free. */
  function lockFree(/** @type {(id: string) => boolean} */ wanted = () => true) {
    for (let tries = 0; tries < 20; tries++) {
      const id = validId(int(ids));
      if (wanted(id) && ledger.tryLock(id)) return id;
    }
    return undefined;
  }

  /** @returns {JsonObject} */
  function validDoc() {
    /** @type {JsonObject} */
    const doc = { userId: `u-${int(1000)}`, status: pick(STATUSES), amount: int(1_000_000) / 100, note: pick(TEXTS) };
    if (chance(0.5)) doc.device = { type: pick(['ios', 'android', 'web']), model: pick(TEXTS) };
    if (chance(0.3)) doc.tags = Array.from({ length: int(6) }, () => pick(TEXTS));
    if (chance(0.3)) doc[pick(ODD_KEYS)] = chance(0.5) ? pick(TEXTS) : { nested: int(100) };
    if (chance(0.05)) doc.deep = JSON.parse(nestedObjects(MAX_DOCUMENT_DEPTH - 2, '{}')); // exactly 100 levels
    if (chance(0.01)) doc.blob = 'b'.repeat(100_000 + int(700_000)); // large, under the body limit
    if (chance(0.01)) doc.list = Array.from({ length: 50_000 }, (_, i) => i);
    return doc;
  }

  /** @returns {JsonObject} */
  function validPatch() {
    /** @type {JsonObject} */
    const patch = {};
    if (chance(0.6)) patch.status = pick(STATUSES);
    if (chance(0.5)) patch.amount = int(1_000_000) / 100;
    if (chance(0.3)) patch.note = chance(0.2) ? null : pick(TEXTS);
    if (chance(0.3)) patch.device = { model: pick(TEXTS) };
    if (chance(0.2)) patch[pick(ODD_KEYS)] = chance(0.4) ? null : pick(TEXTS);
    if (chance(0.1)) patch.tags = null;
    return patch;
  }

  const validEvent = () => ({ id: `ev-${seed}-${++eventSeq}`, sessionId: `s-${int(100)}`, screen: pick(['home', 'pay', 'cards']), note: pick(TEXTS) });

  // ---- valid traffic ---------------------------------------------------------------------------------------

  /** @returns {FuzzCase | undefined} */
  function validDocumentCase() {
    const id = lockFree();
    if (id === undefined) return undefined;
    const state = ledger.state(id);
    const path = `/v1/${DOCS}/${id}`;
    const roll = rng();
    if (roll < 0.35 || !state.live) {
      if (!state.live && state.version === 0 && chance(0.3)) {
        const doc = { ...validDoc(), id };
        return documentWrite('valid.create', 'POST', `/v1/${DOCS}`, doc, id, [202], () => doc);
      }
      if (!state.live && chance(0.15)) {
        const method = pick(['PATCH', 'DELETE']);
        return { ...documentWrite(`valid.${method.toLowerCase()}-missing`, method, path, method === 'PATCH' ? validPatch() : undefined, id, [404]) };
      }
      const doc = validDoc();
      const headers = state.live && chance(0.2) ? { 'if-match': `"${state.version}"` } : undefined;
      return documentWrite(headers ? 'valid.put-if-match' : 'valid.put', 'PUT', path, doc, id, [202], () => ({ ...doc, id }), headers);
    }
    if (roll < 0.7) {
      const patch = validPatch();
      return documentWrite('valid.patch', 'PATCH', path, patch, id, [202], () => /** @type {JsonObject} */ (mergePatch(state.doc, patch)));
    }
    if (roll < 0.8) {
      const stale = { 'if-match': `"${Math.max(0, state.version - 1 - int(3))}"` };
      const method = pick(['PUT', 'PATCH', 'DELETE']);
      return documentWrite('valid.stale-if-match', method, path, method === 'PUT' ? validDoc() : validPatch(), id, [412], undefined, stale);
    }
    if (roll < 0.9) {
      const doc = { ...validDoc(), id };
      return documentWrite('valid.create-existing', 'POST', `/v1/${DOCS}`, doc, id, [409]);
    }
    return documentWrite('valid.delete', 'DELETE', path, undefined, id, [202], () => undefined);
  }

  /**
   * @param {string} category
   * @param {string} method
   * @param {string} path
   * @param {JsonObject | undefined} body
   * @param {string} id
   * @param {number[]} expect
   * @param {(() => JsonObject | undefined)} [stored] the document after a 202 (undefined: deleted)
   * @param {Record<string, string>} [headers]
   * @returns {FuzzCase}
   */
  function documentWrite(category, method, path, body, id, expect, stored, headers) {
    const sendsBody = body !== undefined && method !== 'DELETE';
    return {
      category,
      valid: true,
      transport: 'http',
      method,
      path,
      headers: { ...(sendsBody ? JSON_TYPE : {}), ...headers },
      body: sendsBody ? JSON.stringify(body) : undefined,
      expect,
      locks: [id],
      settle(answer, ledger) {
        if (answer.status !== 202) return undefined;
        const ack = acknowledged(answer);
        if (!ack || ack.id !== id) return `202 without {id: "${id}", version}: ${answer.body.slice(0, 120)}`;
        if (!stored) return `202 for a request that must be refused`;
        ledger.recordDoc(id, ack.version, stored());
        return undefined;
      },
    };
  }

  /** @returns {FuzzCase} */
  function validEventCase() {
    const known = [...ledger.events.keys()];
    const resend = known.length > 0 && chance(0.1);
    const event = resend ? { ...ledger.events.get(pick(known)) } : validEvent();
    return {
      category: resend ? 'valid.event-again' : 'valid.event',
      valid: true,
      transport: 'http',
      method: 'POST',
      path: `/v1/${EVENTS}`,
      headers: JSON_TYPE,
      body: JSON.stringify(event),
      expect: [202],
      settle(answer, ledger) {
        if (answer.status !== 202) return undefined;
        if (acknowledged(answer)?.id !== event.id) return `202 without the event id: ${answer.body.slice(0, 120)}`;
        ledger.recordEvent(/** @type {string} */ (event.id), event);
        return undefined;
      },
    };
  }

  /** @returns {FuzzCase | undefined} */
  function validBulkCase() {
    /** @type {string[]} */
    const locked = [];
    for (let i = 0, n = 2 + int(8); i < n; i++) {
      const id = lockFree();
      if (id !== undefined) locked.push(id);
    }
    if (locked.length === 0) return undefined;
    const items = locked.map((id) => {
      const state = ledger.state(id);
      const op = state.live ? pick(['put', 'patch', 'patch', 'delete']) : chance(0.85) ? 'put' : pick(['patch', 'delete']);
      const doc = op === 'put' ? validDoc() : op === 'patch' ? validPatch() : undefined;
      /** @type {() => JsonObject | undefined} */
      const stored = op === 'put' ? () => ({ ...doc, id }) : op === 'patch' ? () => /** @type {JsonObject} */ (mergePatch(state.doc, doc)) : () => undefined;
      return { id, op, doc, expectOk: state.live || op === 'put', stored };
    });
    return {
      category: 'valid.bulk',
      valid: true,
      transport: 'http',
      method: 'POST',
      path: `/v1/${DOCS}/_bulk`,
      headers: JSON_TYPE,
      body: JSON.stringify({ ops: items.map(({ id, op, doc }) => (doc === undefined ? { op, id } : { op, id, doc })) }),
      expect: [200],
      locks: locked,
      settle(answer, ledger) {
        const results = bulkResults(answer);
        if (!Array.isArray(results)) return results;
        for (const [i, item] of items.entries()) {
          const result = results?.[i];
          if (item.expectOk && result?.id === item.id && Number.isInteger(result.version)) {
            ledger.recordDoc(item.id, result.version, item.stored());
          } else if (item.expectOk || result?.error?.status !== 404) {
            return `item ${i} (${item.op} ${item.id}): ${JSON.stringify(result)}`;
          }
        }
        return undefined;
      },
    };
  }

  /** @returns {FuzzCase} */
  function validBulkEventsCase() {
    const events = Array.from({ length: 1 + int(10) }, validEvent);
    return {
      category: 'valid.bulk-events',
      valid: true,
      transport: 'http',
      method: 'POST',
      path: `/v1/${EVENTS}/_bulk`,
      headers: JSON_TYPE,
      body: JSON.stringify({ events }),
      expect: [200],
      settle(answer, ledger) {
        const results = bulkResults(answer);
        if (!Array.isArray(results)) return results;
        for (const [i, event] of events.entries()) {
          if (results?.[i]?.id !== event.id) return `event ${i}: ${JSON.stringify(results?.[i])}`;
          ledger.recordEvent(event.id, event);
        }
        return undefined;
      },
    };
  }

  // ---- hostile requests ------------------------------------------------------------------------------------

  /**
   * @param {string} category
   * @param {string} method
   * @param {string} path
   * @param {string | Buffer | undefined} body
   * @param {number[]} expect
   * @param {Record<string, string>} [headers]
   * @returns {FuzzCase}
   */
  function hostile(category, method, path, body, expect, headers = body === undefined ? {} : JSON_TYPE) {
    return {
      category,
      valid: false,
      transport: 'http',
      method,
      path,
      headers,
      body,
      expect,
      settle(answer) {
        // A _bulk answered 200 must have refused every item: hostile bulks carry nothing storable.
        if (answer.status === 200) {
          try {
            const results = /** @type {any[]} */ (JSON.parse(answer.body).results);
            if (!results.every((r) => r.error && r.error.status >= 400 && r.error.status < 500)) return `an item was accepted: ${answer.body.slice(0, 200)}`;
          } catch {
            return `200 without results: ${answer.body.slice(0, 120)}`;
          }
        }
        return undefined;
      },
    };
  }

  /**
   * @param {string} category
   * @param {(string | Buffer)[]} chunks
   * @param {number[]} expect
   * @param {{ halfClose?: boolean, allowClose?: boolean }} [options]
   * @returns {FuzzCase}
   */
  function wire(category, chunks, expect, { halfClose = false, allowClose = false } = {}) {
    return { category, valid: false, transport: 'raw', method: 'RAW', path: '', raw: { chunks, halfClose }, expect, allowClose };
  }

  /** A live valid document, not locked: refused requests must leave it as the ledger has it. */
  const liveValidId = () => {
    const live = [...ledger.docs].filter(([, s]) => s.live);
    return live.length > 0 ? pick(live)[0] : validId(int(ids));
  };

  /** Where a bad document goes: a hostile id, in fz_docs or in fz_hostile. */
  const target = () => ({ collection: chance(0.7) ? DOCS : HOSTILE, id: hx() });

  /** A document body with `members` (raw JSON text) spliced in. */
  const docWith = (/** @type {string} */ members) => `{"userId":"u-1","status":"active",${members}}`;

  /**
   * The same bad members through every write: PUT, POST, PATCH of a live valid document, event, both _bulk kinds.
   * @param {string} category
   * @param {string} members
   * @param {{ single?: boolean }} [options] single: one copy of `members` per body (it is near the body limit)
   */
  function badContent(category, members, { single = false } = {}) {
    const expect = [400];
    const { collection, id } = target();
    const copies = () => (single ? 1 : 1 + int(4));
    switch (int(6)) {
      case 0:
        return hostile(category, 'PUT', `/v1/${collection}/${id}`, docWith(members), expect);
      case 1:
        return hostile(category, 'POST', `/v1/${collection}`, `{"id":"${id}",${docWith(members).slice(1)}`, expect);
      case 2:
        // Refused before any write; 404 when the document is not live (a delete may have just won).
        return hostile(category, 'PATCH', `/v1/${DOCS}/${liveValidId()}`, `{${members}}`, [...expect, 404]);
      case 3:
        return hostile(category, 'POST', `/v1/${EVENTS}`, `{"id":"${id}","sessionId":"s","screen":"x",${members}}`, expect);
      case 4: {
        const ops = Array.from({ length: copies() }, () => `{"op":"put","id":"${hx()}","doc":${docWith(members)}}`);
        return hostile(category, 'POST', `/v1/${collection}/_bulk`, `{"ops":[${ops.join(',')}]}`, [...expect, 200]);
      }
      default: {
        const events = Array.from({ length: copies() }, () => `{"id":"${hx()}","sessionId":"s","screen":"x",${members}}`);
        return hostile(category, 'POST', `/v1/${EVENTS}/_bulk`, `{"events":[${events.join(',')}]}`, [...expect, 200]);
      }
    }
  }

  /** @type {[string, number, () => FuzzCase][]} */
  const hostileKinds = [
    ['json.malformed', 4, () => {
      const { collection, id } = target();
      const body = pick(['{"userId":"u-1"', '{"userId":"u-1"} x', "{'userId':'u-1'}", '{"userId":u-1}', '{"a":1,}', '\ufeff{"a"', '{"a":"\\x41"}', '{"a":"unterminated', '[1,2', 'nul', ' ', '']);
      const [method, path] = pick([['PUT', `/v1/${collection}/${id}`], ['PATCH', `/v1/${DOCS}/${liveValidId()}`], ['POST', `/v1/${collection}`], ['POST', `/v1/${collection}/_bulk`], ['POST', `/v1/${EVENTS}`]]);
      return hostile('json.malformed', method, path, body, [400]);
    }],
    ['body.not-object', 3, () => {
      const { collection, id } = target();
      const body = pick(['[{"userId":"u-1"}]', '42', 'null', '"u-1"', 'true', '[]']);
      const [method, path] = pick([['PUT', `/v1/${collection}/${id}`], ['POST', `/v1/${collection}`], ['PATCH', `/v1/${DOCS}/${liveValidId()}`], ['POST', `/v1/${EVENTS}`], ['POST', `/v1/${collection}/_bulk`]]);
      return hostile('body.not-object', method, path, body, [400]);
    }],
    ['text.nul', 4, () => badContent('text.nul', pick(['"note":"a\\u0000b"', '"x\\u0000":1', '"tags":["ok","\\u0000"]', '"device":{"model":"\\u0000"}', `"big":"${'n'.repeat(int(200_000))}\\u0000"`]))],
    ['text.lone-surrogate', 3, () => badContent('text.lone-surrogate', pick(['"note":"\\ud800"', '"note":"x\\udfff"', '"\\udbff":1', '"note":"\\udc00\\ud800"', '"tags":["\\ud83d"]']))],
    ['number.overflow', 2, () => badContent('number.overflow', pick(['"amount":1e400', '"amount":-1e309', '"n":[1,2,1e999]']))],
    ['depth.document', 3, () => badContent('depth.document', `"deep":${chance(0.5) ? nestedObjects(MAX_DOCUMENT_DEPTH + int(50)) : nestedArrays(MAX_DOCUMENT_DEPTH + int(500))}`)],
    ['depth.body', 1, () => {
      // Up to the deepest a 1 MiB body can hold (arrays: 2 bytes a level, objects: 7): what overflowed the stack (500).
      const room = MAX_BODY - 300;
      const deep = chance(0.5) ? nestedArrays(Math.min(pick([1001, 5000, 50_000, room]), Math.floor(room / 2))) : nestedObjects(Math.min(pick([1001, 5000, room]), Math.floor(room / 7)));
      return badContent('depth.body', `"deep":${deep}`, { single: true });
    }],
    ['proto.keys', 3, () => badContent('proto.keys', pick(['"__proto__":{"polluted":true}', '"device":{"__proto__":{"admin":true}}', '"constructor":{"prototype":{"polluted":true}}', '"a":[{"__proto__":null}]']))],
    ['utf8.invalid', 2, () => {
      const { collection, id } = target();
      const bad = pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]);
      const body = Buffer.concat([Buffer.from(`{"userId":"u-1","note":"`), Buffer.from(bad), Buffer.from('"}')]);
      return hostile('utf8.invalid', 'PUT', `/v1/${collection}/${id}`, body, [400]);
    }],
    ['content-type', 3, () => {
      const { collection, id } = target();
      const type = pick([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'application/json-patch+json', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/json']);
      const headers = type === undefined ? {} : { 'content-type': type };
      return hostile('content-type', pick(['PUT', 'POST']), pick([`/v1/${collection}/${id}`, `/v1/${collection}`]), docWith('"a":1'), [400, 404, 415], headers);
    }],
    ['body.oversize', 1, () => {
      const { collection, id } = target();
      const body = docWith(`"blob":"${'o'.repeat(MAX_BODY + int(64 * 1024))}"`);
      const head = `PUT /v1/${collection}/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      return wire('body.oversize', [head, body], [413], { allowClose: true });
    }],
    ['bulk.shape', 3, () => {
      const collection = chance(0.7) ? DOCS : HOSTILE;
      const op = () => `{"op":"put","id":"${hx()}","doc":{"userId":"u-1"}}`;
      const body = pick([
        () => `{"ops":[${Array.from({ length: 1001 }, op).join(',')}]}`,
        () => '{"ops":[]}',
        () => '{"ops":{}}',
        () => '{"events":[{"sessionId":"s","screen":"x"}]}',
        () => `{"ops":[{"op":"upsert","id":"${hx()}","doc":{"userId":"u-1"}}]}`,
        () => `{"ops":[1,"x",null]}`,
        () => `{"ops":[{"op":"put","id":"${hx()}","doc":{"userId":"u-1"},"ifMatch":-1}]}`,
        () => `{"ops":[{"op":"put","id":"${hx()}","doc":{"userId":"u-1"},"ifMatch":1e400}]}`,
      ])();
      return hostile('bulk.shape', 'POST', `/v1/${collection}/_bulk`, body, [400]);
    }],
    ['bulk.events-shape', 1, () => {
      const ev = () => `{"id":"${hx()}","sessionId":"s","screen":"x"}`;
      const body = pick([() => `{"events":[${Array.from({ length: 1001 }, ev).join(',')}]}`, () => '{"events":[]}', () => '{"ops":[]}', () => '{"events":"x"}'])();
      return hostile('bulk.events-shape', 'POST', `/v1/${EVENTS}/_bulk`, body, [400]);
    }],
    ['if-match.bad', 2, () => {
      const value = pick(['*', '"x"', '"1", "2"', 'W/', '"-1"', '"1.5"', '"1234567890123456"', '""1""', 'garbage']);
      const method = pick(['PUT', 'PATCH', 'DELETE']);
      return hostile('if-match.bad', method, `/v1/${DOCS}/${liveValidId()}`, method === 'DELETE' ? undefined : docWith('"a":1'), [400], {
        ...(method === 'DELETE' ? {} : JSON_TYPE),
        'if-match': value,
      });
    }],
    ['id.bad', 3, () => {
      const collection = chance(0.7) ? DOCS : HOSTILE;
      const bad = pick(['hx%00a', 'hx%C3%A9', 'hx%20a', 'hx%2Fa', 'hx%25', `hx${'x'.repeat(199)}`, `hx${'y'.repeat(5000)}`, 'hx%F0%9F%98%80', 'hx*', 'hx%0D%0A', 'hx%22', 'hx%5C']);
      const inBody = pick(['hx\u0000a', 'hx é', 'hx/a', `hx${'z'.repeat(199)}`, 'hx\ud800', '']);
      return pick([
        () => hostile('id.bad', pick(['PUT', 'PATCH']), `/v1/${collection}/${bad}`, docWith('"a":1'), [400]),
        () => hostile('id.bad', pick(['DELETE', 'GET']), `/v1/${collection}/${bad}`, undefined, [400]),
        () => hostile('id.bad', 'POST', `/v1/${collection}`, JSON.stringify({ id: inBody, userId: 'u-1' }), [400]),
        () => hostile('id.bad', 'POST', `/v1/${EVENTS}`, JSON.stringify({ id: inBody, sessionId: 's', screen: 'x' }), [400]),
        () => hostile('id.bad', 'POST', `/v1/${collection}/_bulk`, JSON.stringify({ ops: [{ op: 'put', id: inBody, doc: { userId: 'u' } }] }), [400]),
      ])();
    }],
    ['collection.unknown', 2, () => {
      const name = pick(['nope', 'Fz_docs', 'fz_docs%00', 'fz_docs%20', 'spillway_tombstones', 'x'.repeat(300), '%E2%80%AE', '..', 'fz_docs%2Fx']);
      const [method, path] = pick([['PUT', `/v1/${name}/${hx()}`], ['POST', `/v1/${name}`], ['POST', `/v1/${name}/_bulk`], ['DELETE', `/v1/${name}/${hx()}`]]);
      return hostile('collection.unknown', method, path, method === 'DELETE' ? undefined : docWith('"a":1'), [404]);
    }],
    ['method.wrong', 2, () => {
      return pick([
        () => hostile('method.wrong', pick(['PUT', 'PATCH']), `/v1/${EVENTS}/${hx()}`, '{"sessionId":"s","screen":"x"}', [405]),
        () => hostile('method.wrong', 'DELETE', `/v1/${EVENTS}/${hx()}`, undefined, [405]),
        () => hostile('method.wrong', 'POST', `/v1/${DOCS}/${hx()}`, docWith('"a":1'), [404]),
        () => hostile('method.wrong', pick(['OPTIONS', 'TRACE']), `/v1/${DOCS}/${hx()}`, undefined, [404]),
        () => hostile('method.wrong', 'PUT', `/v1/${DOCS}`, docWith('"a":1'), [404]),
      ])();
    }],
    ['schema.violation', 2, () => {
      const { collection, id } = target();
      return pick([
        () => hostile('schema.violation', 'PUT', `/v1/${collection}/${id}`, '{"status":"active"}', [400]),
        () => hostile('schema.violation', 'PUT', `/v1/${DOCS}/${id}`, '{"userId":"u","status":"exploded"}', [400]),
        () => hostile('schema.violation', 'PUT', `/v1/${collection}/${id}`, '{"userId":42}', [400]),
        () => hostile('schema.violation', 'PATCH', `/v1/${DOCS}/${liveValidId()}`, '{"userId":null}', [400, 404]),
        () => hostile('schema.violation', 'POST', `/v1/${EVENTS}`, `{"id":"${id}","sessionId":"s"}`, [400]),
        () => hostile('schema.violation', 'PUT', `/v1/${collection}/${id}`, `{"id":"${hx()}","userId":"u"}`, [400]),
      ])();
    }],
    ['wire.malformed', 2, () => {
      const { collection, id } = target();
      const path = `/v1/${collection}/${id}`;
      const body = docWith('"a":1');
      const chunks = pick([
        () => ['GARBAGE\r\n\r\n'],
        () => [`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n${body}`],
        () => [`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n${body}`],
        () => [`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n\r\n${body}`],
        () => [`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Pad: ${'p'.repeat(20_000)}\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
        () => [`PUT /v1/${collection}/${'w'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`],
        () => [`PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n${body}\r\n0\r\n\r\n`],
        () => [`PUT ${path.replace('/v1/', '/v1/\u0000')} HTTP/1.1\r\nHost: x\r\n\r\n`],
        () => [`PUT ${path} HTTP/9.9\r\nHost: x\r\n\r\n`],
        () => [`PUT ${path} HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n`],
      ])();
      return wire('wire.malformed', chunks, [400]);
    }],
    ['wire.truncated', 2, () => {
      // The client declares a body, sends part of it and closes its side: the server must write nothing.
      const { collection, id } = target();
      const body = docWith(`"note":"${'t'.repeat(int(2000))}"`);
      const cut = int(body.length - 1);
      const head = `PUT /v1/${collection}/${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
      return wire('wire.truncated', [head, body.slice(0, cut)], [400, 408], { halfClose: true, allowClose: true });
    }],
  ];
  const hostileTotal = hostileKinds.reduce((sum, [, weight]) => sum + weight, 0);

  /** @returns {FuzzCase} */
  function hostileCase() {
    let roll = rng() * hostileTotal;
    for (const [, weight, build] of hostileKinds) {
      roll -= weight;
      if (roll < 0) return build();
    }
    return hostileKinds[0][2]();
  }

  return {
    /**
     * The next case: about half valid traffic, half hostile.
     * @returns {FuzzCase}
     */
    next() {
      const roll = rng();
      const valid =
        roll < 0.3 ? validDocumentCase() : roll < 0.38 ? validEventCase() : roll < 0.45 ? validBulkCase() : roll < 0.5 ? validBulkEventsCase() : undefined;
      return valid ?? hostileCase();
    },
    hostileKinds: hostileKinds.map(([name]) => name),
    hx,
  };
}
