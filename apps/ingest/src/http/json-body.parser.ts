import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';

/**
 * How deep a stored document may nest (`{}` and `[]` are one level each, `{"a":{}}` is two).
 *
 * Measured limits (2026-11, Node 20.19, PostgreSQL 15): V8's JSON.parse is iterative and reads the ~524,000 levels
 * a 1 MiB body can hold, but JSON.stringify, the merge of a PATCH and Ajv recurse and overflow the stack a few
 * thousand levels down (a 5,000-level array already answered 500); PostgreSQL's jsonb input refuses about 19,960
 * levels with "stack depth limit exceeded" at the default max_stack_depth of 2 MB. 100 levels is far beyond any
 * real document and far below all of those, so a document that passes here is safe everywhere downstream.
 */
export const MAX_DOCUMENT_DEPTH = 100;

/**
 * How deep a whole request body may nest. It bounds the recursion that runs before a document's own check
 * (the merge of a PATCH) and leaves room for the `_bulk` envelope (`{"ops":[{"doc": …}]}`), so a too-deep
 * document is normally reported by the document check, with its path.
 */
export const MAX_BODY_DEPTH = 1000;

/** Longest JSON Pointer quoted in an error detail; member names can be as long as the body. */
const MAX_DETAIL_PATH = 200;

/** Strings are checked for these: PostgreSQL's jsonb refuses both (SQLSTATE 22P05 and 22P02). */
const NUL_OR_SURROGATE = /[\u0000\ud800-\udfff]/;
const NUL = /\u0000/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface Frame {
  value: unknown;
  depth: number;
  parent?: Frame;
  /** the member name or array index under `parent` */
  segment?: string;
}

/** RFC 6901 JSON Pointer of a frame, shortened for an error detail. */
function pointerOf(frame: Frame, child?: string): string {
  const segments: string[] = child === undefined ? [] : [child];
  for (let f: Frame | undefined = frame; f?.segment !== undefined; f = f.parent) {
    segments.push(f.segment);
  }
  const pointer = segments
    .reverse()
    .map((s) => `/${s.replace(/~/g, '~0').replace(/\//g, '~1')}`)
    .join('');
  if (pointer === '') {
    return '/';
  }

  return pointer.length > MAX_DETAIL_PATH ? `${pointer.slice(0, MAX_DETAIL_PATH)}…` : pointer;
}

/** Why PostgreSQL's jsonb cannot store this text, if it cannot. */
function unstorableText(text: string): string | undefined {
  if (!NUL_OR_SURROGATE.test(text)) {
    return undefined; // nearly every string: one scan for a character class, instead of two patterns
  }
  if (NUL.test(text)) {
    return 'contains U+0000 (NUL), which PostgreSQL cannot store in jsonb';
  }
  if (LONE_SURROGATE.test(text)) {
    return 'contains an unpaired UTF-16 surrogate (\\ud800-\\udfff), which is not Unicode text';
  }

  return undefined;
}

export interface JsonLimits {
  maxDepth: number;
  /** names the value in details: "body" or "document" */
  what: string;
  /** also check strings, member names and numbers (documents); a body's structure alone is checked at parse */
  content: boolean;
}

/**
 * Throws 400, naming the JSON Pointer of the first offence, unless `value` (from JSON.parse) is no deeper than
 * `maxDepth` and has no member that can reach a prototype (`__proto__`, or `constructor` holding `prototype`: they
 * alter objects in JavaScript code that merges the document). With `content`, also refuses what could not be stored
 * as sent: U+0000 or an unpaired surrogate in a string or member name (PostgreSQL's jsonb refuses them, so the sink
 * would dead-letter a write ingest had acknowledged) and a number JSON.parse turned into ±Infinity (JSON.stringify
 * would store null). Iterative, so no input can exhaust the stack.
 */
export function assertStorableJson(value: unknown, limits: JsonLimits): void {
  if (!breaksLimits(value, 1, limits)) {
    return;
  }
  const { maxDepth, what, content } = limits;
  const stack: Frame[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const node = frame.value;
    if (typeof node === 'string') {
      const problem = content ? unstorableText(node) : undefined;
      if (problem) {
        throw new BadRequestException(`the string at ${pointerOf(frame)} ${problem}`);
      }
    } else if (typeof node === 'number') {
      if (content && !Number.isFinite(node)) {
        throw new BadRequestException(
          `the number at ${pointerOf(frame)} is beyond ±1.8e308, the largest a JSON number may be here`,
        );
      }
    } else if (node !== null && typeof node === 'object') {
      if (frame.depth > maxDepth) {
        throw new BadRequestException(`the ${what} nests deeper than ${maxDepth} levels at ${pointerOf(frame)}`);
      }
      if (Array.isArray(node)) {
        for (let i = node.length - 1; i >= 0; i--) {
          stack.push({ value: node[i], depth: frame.depth + 1, parent: frame, segment: String(i) });
        }
      } else {
        const entries = Object.entries(node);
        for (let i = entries.length - 1; i >= 0; i--) {
          const [key, member] = entries[i];
          const problem = content ? unstorableText(key) : undefined;
          if (problem) {
            throw new BadRequestException(`the member name at ${pointerOf(frame, key)} ${problem}`);
          }
          if (isPrototypeKey(key, member)) {
            throw new BadRequestException(
              `the member name at ${pointerOf(frame, key)} is refused: "__proto__", and "constructor" holding "prototype", can alter objects in JavaScript code that reads the document`,
            );
          }
          stack.push({ value: member, depth: frame.depth + 1, parent: frame, segment: key });
        }
      }
    }
  }
}

/** The member names Fastify's default parser also refuses (secure-json-parse): they reach prototypes when merged. */
/**
 * Whether the value breaks a limit of assertStorableJson, answered without allocating: the common case, a value
 * that breaks none, costs one pass. Recursion stops one level past `maxDepth`, so it stays shallow whatever the input.
 */
function breaksLimits(node: unknown, depth: number, limits: JsonLimits): boolean {
  if (typeof node === 'string') {
    return limits.content && unstorableText(node) !== undefined;
  }
  if (typeof node === 'number') {
    return limits.content && !Number.isFinite(node);
  }
  if (node === null || typeof node !== 'object') {
    return false;
  }
  if (depth > limits.maxDepth) {
    return true;
  }
  if (Array.isArray(node)) {
    return node.some((item) => breaksLimits(item, depth + 1, limits));
  }
  for (const key of Object.keys(node)) {
    const member = (node as Record<string, unknown>)[key];
    if (
      (limits.content && unstorableText(key) !== undefined) ||
      isPrototypeKey(key, member) ||
      breaksLimits(member, depth + 1, limits)
    ) {
      return true;
    }
  }

  return false;
}

function isPrototypeKey(key: string, member: unknown): boolean {
  return (
    key === '__proto__' ||
    (key === 'constructor' && member !== null && typeof member === 'object' && Object.hasOwn(member, 'prototype'))
  );
}

/** A document about to be stored: within {@link MAX_DOCUMENT_DEPTH}, no text or number PostgreSQL would refuse. */
export function assertStorableDocument(doc: unknown): void {
  assertStorableJson(doc, { maxDepth: MAX_DOCUMENT_DEPTH, what: 'document', content: true });
}

/** `charset` of a Content-Type, lower case, if given. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '');

  return match?.[1].toLowerCase();
}

/**
 * Reads an `application/json` request body: UTF-8 only (RFC 8259 section 8.1: invalid bytes would otherwise be
 * replaced by U+FFFD and stored changed), then JSON, then its structure ({@link assertStorableJson} within
 * {@link MAX_BODY_DEPTH}). Each document in it is checked whole by {@link assertStorableDocument} before it is
 * written, so a `_bulk` item with bad content fails alone. Throws 415 for another charset, 400 for the rest.
 */
export function parseJsonBody(raw: Buffer, contentType?: string): unknown {
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeException(`JSON bodies must be UTF-8, not charset=${charset.slice(0, 40)}`);
  }
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new BadRequestException('the body is not valid UTF-8');
  }
  if (text.trim() === '') {
    throw new BadRequestException('the body is empty; send a JSON object');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8 quotes the input in its message; only the position is worth passing on.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new BadRequestException(
      `the body is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`,
    );
  }
  assertStorableJson(value, { maxDepth: MAX_BODY_DEPTH, what: 'body', content: false });

  return value;
}
