// The fuzzer's valid traffic: puts, patches, deletes, creates, events and _bulk, each answer recorded in the
// ledger. Each case holds locks on its ids, so writes to one id never overlap and the ledger follows them exactly.
import { applyMergePatch } from '@app/contracts';
import { acknowledged, bulkResults, type CaseContext, type HttpCase, JSON_TYPE, nestedObjects } from './case-context';
import { DOCS, EVENTS, MAX_BODY, MAX_DOCUMENT_DEPTH } from './collections';
import type { JsonObject } from './ledger';

const STATUSES = ['active', 'idle', 'closed'];
/** Texts of every script and escape a document may hold; shared with the hostile cases. */
export const TEXTS = [
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
const ODD_KEYS = [
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'valueOf',
  '__proto_',
  'a/b',
  '~0',
  '',
  'ключ',
  '键',
  '😀',
  ' spaced ',
  'line\nbreak',
  'ctrl\u0001',
];

/** The document a patch leaves, computed on a copy: the ledger's state stays as acknowledged. */
const patched = (doc: JsonObject | undefined, patch: JsonObject): JsonObject =>
  applyMergePatch(structuredClone(doc), patch) as JsonObject;

type Settle = NonNullable<HttpCase['settle']>;

/** A valid POST of JSON, expecting one status; `settle` enters its answer in the ledger. */
const validPost = (category: string, path: string, body: unknown, expect: number, settle: Settle): HttpCase => ({
  category,
  valid: true,
  transport: 'http',
  method: 'POST',
  path,
  headers: JSON_TYPE,
  body: JSON.stringify(body),
  expect: [expect],
  settle,
});

export interface ValidCases {
  document(): HttpCase | undefined;
  event(): HttpCase;
  bulk(): HttpCase | undefined;
  bulkEvents(): HttpCase;
}

export function createValidCases(ctx: CaseContext): ValidCases {
  const { ledger } = ctx;
  let eventSeq = 0;

  function validDoc(): JsonObject {
    const doc: JsonObject = {
      userId: `u-${ctx.int(1000)}`,
      status: ctx.pick(STATUSES),
      amount: ctx.int(1_000_000) / 100,
      note: ctx.pick(TEXTS),
    };
    if (ctx.chance(0.5)) doc.device = { type: ctx.pick(['ios', 'android', 'web']), model: ctx.pick(TEXTS) };
    if (ctx.chance(0.3)) doc.tags = Array.from({ length: ctx.int(6) }, () => ctx.pick(TEXTS));
    if (ctx.chance(0.3)) doc[ctx.pick(ODD_KEYS)] = ctx.chance(0.5) ? ctx.pick(TEXTS) : { nested: ctx.int(100) };
    if (ctx.chance(0.05)) doc.deep = JSON.parse(nestedObjects(MAX_DOCUMENT_DEPTH - 2, '{}')) as unknown; // exactly MAX_DOCUMENT_DEPTH levels
    if (ctx.chance(0.01)) doc.blob = 'b'.repeat(100_000 + ctx.int(700_000)); // large, under the body limit
    if (ctx.chance(0.01)) doc.list = Array.from({ length: 50_000 }, (_, i) => i);

    return doc;
  }

  function validPatch(): JsonObject {
    const patch: JsonObject = {};
    if (ctx.chance(0.6)) patch.status = ctx.pick(STATUSES);
    if (ctx.chance(0.5)) patch.amount = ctx.int(1_000_000) / 100;
    if (ctx.chance(0.3)) patch.note = ctx.chance(0.2) ? null : ctx.pick(TEXTS);
    if (ctx.chance(0.3)) patch.device = { model: ctx.pick(TEXTS) };
    if (ctx.chance(0.2)) patch[ctx.pick(ODD_KEYS)] = ctx.chance(0.4) ? null : ctx.pick(TEXTS);
    if (ctx.chance(0.1)) patch.tags = null;

    return patch;
  }

  const validEvent = () => {
    eventSeq += 1;

    return {
      id: `ev-${ctx.seed}-${eventSeq}`,
      sessionId: `s-${ctx.int(100)}`,
      screen: ctx.pick(['home', 'pay', 'cards']),
      note: ctx.pick(TEXTS),
    };
  };

  /**
   * @param stored the document after a 202 (returns undefined: deleted); none when a 202 would be wrong
   */
  function documentWrite(
    category: string,
    method: string,
    path: string,
    body: JsonObject | undefined,
    id: string,
    expect: number[],
    stored?: () => JsonObject | undefined,
    headers?: Record<string, string>,
  ): HttpCase {
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

  function document(): HttpCase | undefined {
    const id = ctx.lockFree();
    if (id === undefined) return undefined;
    const state = ledger.state(id);
    const path = `/v1/${DOCS}/${id}`;
    const roll = ctx.rng();
    if (roll < 0.35 || !state.live) {
      if (!state.live && state.version === 0 && ctx.chance(0.3)) {
        const doc = { ...validDoc(), id };

        return documentWrite('valid.create', 'POST', `/v1/${DOCS}`, doc, id, [202], () => doc);
      }
      if (!state.live && ctx.chance(0.15)) {
        const method = ctx.pick(['PATCH', 'DELETE']);
        const body = method === 'PATCH' ? validPatch() : undefined;

        return documentWrite(`valid.${method.toLowerCase()}-missing`, method, path, body, id, [404]);
      }
      const doc = validDoc();
      const headers = state.live && ctx.chance(0.2) ? { 'if-match': `"${state.version}"` } : undefined;
      const category = headers ? 'valid.put-if-match' : 'valid.put';

      return documentWrite(category, 'PUT', path, doc, id, [202], () => ({ ...doc, id }), headers);
    }
    if (roll < 0.7) {
      const patch = validPatch();

      return documentWrite('valid.patch', 'PATCH', path, patch, id, [202], () => patched(state.doc, patch));
    }
    if (roll < 0.8) {
      const stale = { 'if-match': `"${Math.max(0, state.version - 1 - ctx.int(3))}"` };
      const method = ctx.pick(['PUT', 'PATCH', 'DELETE']);
      const body = method === 'PUT' ? validDoc() : validPatch();

      return documentWrite('valid.stale-if-match', method, path, body, id, [412], undefined, stale);
    }
    if (roll < 0.9) {
      const doc = { ...validDoc(), id };

      return documentWrite('valid.create-existing', 'POST', `/v1/${DOCS}`, doc, id, [409]);
    }

    return documentWrite('valid.delete', 'DELETE', path, undefined, id, [202], () => undefined);
  }

  function event(): HttpCase {
    const known = [...ledger.events.keys()];
    const resend = known.length > 0 && ctx.chance(0.1);
    const sent: JsonObject = resend ? { ...ledger.events.get(ctx.pick(known)) } : validEvent();

    return validPost(resend ? 'valid.event-again' : 'valid.event', `/v1/${EVENTS}`, sent, 202, (answer, ledger) => {
      if (answer.status !== 202) return undefined;
      if (acknowledged(answer)?.id !== sent.id) return `202 without the event id: ${answer.body.slice(0, 120)}`;
      ledger.recordEvent(String(sent.id), sent);

      return undefined;
    });
  }

  function bulk(): HttpCase | undefined {
    const locked: string[] = [];
    for (let i = 0, n = 2 + ctx.int(8); i < n; i++) {
      const id = ctx.lockFree();
      if (id !== undefined) locked.push(id);
    }
    if (locked.length === 0) return undefined;
    const items = locked.map((id) => {
      const state = ledger.state(id);
      const op = state.live
        ? ctx.pick(['put', 'patch', 'patch', 'delete'])
        : ctx.chance(0.85)
          ? 'put'
          : ctx.pick(['patch', 'delete']);
      const doc = op === 'put' ? validDoc() : op === 'patch' ? validPatch() : undefined;
      const stored = (): JsonObject | undefined =>
        op === 'put' ? { ...doc, id } : op === 'patch' ? patched(state.doc, doc ?? {}) : undefined;

      return { id, op, doc, expectOk: state.live || op === 'put', stored };
    });

    // Each document fits a request alone, but a few large ones together can outgrow the body limit (found by the
    // fuzz run: a valid _bulk answered 413): the large members go until the request fits.
    const ops = items.map(({ id, op, doc }) => (doc === undefined ? { op, id } : { op, id, doc }));
    for (const { doc } of items) {
      if (JSON.stringify({ ops }).length <= MAX_BODY) break;
      delete doc?.blob;
      delete doc?.list;
    }
    const settle: Settle = (answer, ledger) => {
      const results = bulkResults(answer);
      if (!Array.isArray(results)) return results;
      for (const [i, item] of items.entries()) {
        const result = results[i];
        if (item.expectOk && result?.id === item.id && Number.isInteger(result.version)) {
          ledger.recordDoc(item.id, Number(result.version), item.stored());
        } else if (item.expectOk || result?.error?.status !== 404) {
          return `item ${i} (${item.op} ${item.id}): ${JSON.stringify(result)}`;
        }
      }

      return undefined;
    };

    return { ...validPost('valid.bulk', `/v1/${DOCS}/_bulk`, { ops }, 200, settle), locks: locked };
  }

  function bulkEvents(): HttpCase {
    const events = Array.from({ length: 1 + ctx.int(10) }, validEvent);

    return validPost('valid.bulk-events', `/v1/${EVENTS}/_bulk`, { events }, 200, (answer, ledger) => {
      const results = bulkResults(answer);
      if (!Array.isArray(results)) return results;
      for (const [i, sent] of events.entries()) {
        if (results[i]?.id !== sent.id) return `event ${i}: ${JSON.stringify(results[i])}`;
        ledger.recordEvent(sent.id, sent);
      }

      return undefined;
    });
  }

  return { document, event, bulk, bulkEvents };
}
