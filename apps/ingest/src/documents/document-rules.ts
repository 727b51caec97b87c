import { MAX_DOCUMENT_DEPTH } from '@app/contracts';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/**
 * How deep a whole request body may nest. It bounds the recursion that runs before a document's own check
 * (the merge of a PATCH) and leaves room for the `_bulk` envelope (`{"ops":[{"doc": …}]}`), so a too-deep
 * document is normally reported by the document check, with its path.
 */
export const MAX_BODY_DEPTH = 1000;

/** The rules a JSON value is held to. */
export interface JsonRules {
  maxDepth: number;
  /** names the value in details */
  what: 'body' | 'document';
  /** also check strings, member names and numbers (documents); a body's structure alone is checked at parse */
  content: boolean;
}

/** A document about to be stored: within {@link MAX_DOCUMENT_DEPTH}, no text or number PostgreSQL would refuse. */
export const DOCUMENT_RULES: JsonRules = { maxDepth: MAX_DOCUMENT_DEPTH, what: 'document', content: true };

/**
 * A request body as parsed, before any code recurses into it: within {@link MAX_BODY_DEPTH}. Its content is left
 * to each document in it, so a `_bulk` item with bad content fails alone.
 */
export const BODY_RULES: JsonRules = { maxDepth: MAX_BODY_DEPTH, what: 'body', content: false };

/** Longest JSON Pointer quoted in an error detail; member names can be as long as the body. */
const MAX_DETAIL_PATH = 200;

/** Strings are checked for these: PostgreSQL's jsonb refuses both (SQLSTATE 22P05 and 22P02). */
// eslint-disable-next-line no-control-regex -- U+0000 is the character looked for
const NUL_OR_SURROGATE = /[\u0000\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const PROTOTYPE_KEY_REFUSAL =
  'is refused: "__proto__", and "constructor" holding "prototype", can alter objects in JavaScript code that reads the document';

/** The first offence in a value: the path to it, innermost segment first, and the detail for its JSON Pointer. */
interface Offence {
  reversedPath: string[];
  detail: (pointer: string) => string;
}

/** Why PostgreSQL's jsonb cannot store this text, if it cannot. */
function unstorableText(text: string): string | undefined {
  if (!NUL_OR_SURROGATE.test(text)) {
    return undefined; // nearly every string: one scan for a character class, instead of two patterns
  }
  if (text.includes('\u0000')) {
    return 'contains U+0000 (NUL), which PostgreSQL cannot store in jsonb';
  }
  if (LONE_SURROGATE.test(text)) {
    return 'contains an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode text';
  }

  return undefined;
}

/** The member names Fastify's default parser also refuses (secure-json-parse): they reach prototypes when merged. */
function isPrototypeKey(key: string, member: unknown): boolean {
  return (
    key === '__proto__' ||
    (key === 'constructor' && member !== null && typeof member === 'object' && Object.hasOwn(member, 'prototype'))
  );
}

/** RFC 6901 JSON Pointer of a path, shortened for an error detail. */
function pointerOf(reversedPath: string[]): string {
  const pointer = reversedPath
    .reverse()
    .map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`)
    .join('');
  if (pointer === '') {
    return '/';
  }

  return pointer.length > MAX_DETAIL_PATH ? `${pointer.slice(0, MAX_DETAIL_PATH)}…` : pointer;
}

function offenceHere(detail: (pointer: string) => string): Offence {
  return { reversedPath: [], detail };
}

function offenceBelow(segment: string, offence: Offence | undefined): Offence | undefined {
  offence?.reversedPath.push(segment);

  return offence;
}

/**
 * The first offence in `node`, in document order, or undefined. It allocates nothing for a value that breaks no
 * rule, the common case; recursion stops one level past `maxDepth`, so it stays shallow whatever the input.
 */
function offenceIn(node: unknown, depth: number, rules: JsonRules): Offence | undefined {
  if (typeof node === 'string') {
    const problem = rules.content ? unstorableText(node) : undefined;

    return problem === undefined ? undefined : offenceHere((at) => `the string at ${at} ${problem}`);
  }
  if (typeof node === 'number') {
    return !rules.content || Number.isFinite(node)
      ? undefined
      : offenceHere((at) => `the number at ${at} is beyond ±1.8e308, the largest a JSON number may be here`);
  }
  if (node === null || typeof node !== 'object') {
    return undefined;
  }
  if (depth > rules.maxDepth) {
    return offenceHere((at) => `the ${rules.what} nests deeper than ${rules.maxDepth} levels at ${at}`);
  }
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const offence = offenceBelow(String(i), offenceIn(node[i], depth + 1, rules));
      if (offence) {
        return offence;
      }
    }

    return undefined;
  }
  for (const key of Object.keys(node)) {
    const member = (node as Record<string, unknown>)[key];
    const problem = rules.content ? unstorableText(key) : undefined;
    if (problem !== undefined) {
      return offenceBelow(
        key,
        offenceHere((at) => `the member name at ${at} ${problem}`),
      );
    }
    if (isPrototypeKey(key, member)) {
      return offenceBelow(
        key,
        offenceHere((at) => `the member name at ${at} ${PROTOTYPE_KEY_REFUSAL}`),
      );
    }
    const offence = offenceBelow(key, offenceIn(member, depth + 1, rules));
    if (offence) {
      return offence;
    }
  }

  return undefined;
}

/**
 * Throws 400, naming the JSON Pointer of the first offence, unless `value` (from JSON.parse) is no deeper than
 * `rules.maxDepth` and has no member that can reach a prototype (`__proto__`, or `constructor` holding `prototype`:
 * they alter objects in JavaScript code that merges the document). With `rules.content`, also refuses what could not
 * be stored as sent: U+0000 or an unpaired surrogate in a string or member name (PostgreSQL's jsonb refuses them, so
 * the sink would dead-letter a write ingest had acknowledged) and a number JSON.parse turned into ±Infinity
 * (JSON.stringify would store null).
 */
export function assertFollowsRules(value: unknown, rules: JsonRules): void {
  const offence = offenceIn(value, 1, rules);
  if (offence) {
    const code = rules.what === 'document' ? IngestExceptionCode.INVALID_DOCUMENT : IngestExceptionCode.INVALID_BODY;
    throw new IngestException(code, offence.detail(pointerOf(offence.reversedPath)));
  }
}
