/**
 * Field paths of a document (`device.type`): names separated by dots, as RDI's blocks name nested fields. Reads never
 * reach the prototype; writes copy each object along the path and never change the document they were given.
 */

import { article, jsonTypeOf } from './json-type';

export type JsonObject = Record<string, unknown>;

/** A parsed field path: its names, outermost first. */
export type FieldPath = readonly string[];

/** Names a path may not hold: writing them would reach an object's prototype. */
const FORBIDDEN_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_PATH_LENGTH = 200;
const MAX_PATH_DEPTH = 32;

/** Whether a name would reach an object's prototype when written. */
export function isForbiddenName(name: string): boolean {
  return FORBIDDEN_NAMES.has(name);
}

/** A JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses `a.b.c`; returns the problem as a string when the text is not a field path. */
export function parseFieldPath(text: string): FieldPath | string {
  if (text.length === 0 || text.length > MAX_PATH_LENGTH) {
    return `must be a field path of 1 to ${MAX_PATH_LENGTH} characters`;
  }
  const names = text.split('.');
  if (names.length > MAX_PATH_DEPTH) return `must be a field path at most ${MAX_PATH_DEPTH} names deep`;
  if (names.some((name) => name === '' || /\s/.test(name))) {
    return `"${text}" is not a field path: names without spaces, separated by single dots`;
  }
  const forbidden = names.find((name) => FORBIDDEN_NAMES.has(name));
  if (forbidden !== undefined) return `"${text}" is not a field path: "${forbidden}" is not allowed as a name`;

  return names;
}

/** The value at `path`, or undefined when a name on the way is missing or not inside an object. */
export function getPath(doc: unknown, path: FieldPath): unknown {
  return getPathFrom(doc, path, 0);
}

/** The value at the names of `path` from index `from` on (a foreach element is read past its alias). */
export function getPathFrom(doc: unknown, path: FieldPath, from: number): unknown {
  let current = doc;
  for (let i = from; i < path.length; i++) {
    if (!isJsonObject(current)) return undefined;
    const name = path[i] as string;
    if (!Object.hasOwn(current, name)) return undefined;
    current = current[name];
  }

  return current;
}

/** A document that cannot take a write at a path: a name on the way holds something other than an object. */
export class FieldPathConflict extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * A copy of `doc` with `value` at `path`; missing (or null) objects on the way are created. Throws
 * {@link FieldPathConflict} when a name on the way holds a string, number, boolean or array.
 */
export function setPath(doc: JsonObject, path: FieldPath, value: unknown): JsonObject {
  return setFrom(doc, path, value, 0);
}

function setFrom(doc: JsonObject, path: FieldPath, value: unknown, depth: number): JsonObject {
  const name = path[depth] as string;
  const copy = { ...doc };
  if (depth === path.length - 1) {
    copy[name] = value;

    return copy;
  }
  const child = Object.hasOwn(doc, name) ? doc[name] : undefined;
  if (child !== undefined && child !== null && !isJsonObject(child)) {
    throw new FieldPathConflict(
      `cannot set field "${path.join('.')}": "${path.slice(0, depth + 1).join('.')}" is ${article(jsonTypeOf(child))}, not an object`,
    );
  }
  copy[name] = setFrom(isJsonObject(child) ? child : {}, path, value, depth + 1);

  return copy;
}

/** Whether the document has a field at `path` (even one holding null). */
export function hasPath(doc: JsonObject, path: FieldPath): boolean {
  const parent = getPath(doc, path.slice(0, -1));

  return isJsonObject(parent) && Object.hasOwn(parent, path[path.length - 1] as string);
}

/** A copy of `doc` without the field at `path`; `doc` itself when it has no such field. */
export function removePath(doc: JsonObject, path: FieldPath): JsonObject {
  return removeFrom(doc, path, 0);
}

function removeFrom(doc: JsonObject, path: FieldPath, depth: number): JsonObject {
  const name = path[depth] as string;
  if (!Object.hasOwn(doc, name)) return doc;
  if (depth === path.length - 1) {
    const copy = { ...doc };
    delete copy[name];

    return copy;
  }
  const child = doc[name];
  if (!isJsonObject(child)) return doc;
  const changed = removeFrom(child, path, depth + 1);

  return changed === child ? doc : { ...doc, [name]: changed };
}
