import type { Collection } from '@app/collections';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { assertFollowsRules, DOCUMENT_RULES } from './document-rules';

export const ID_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

export type JsonObject = Record<string, unknown>;

export function assertValidId(id: unknown, where = 'id'): asserts id is string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    throw new IngestException(
      IngestExceptionCode.INVALID_ID,
      `${where} must be 1 to 200 characters of A-Z a-z 0-9 . _ : -`,
    );
  }
}

export function assertObject(body: unknown, what = 'body'): asserts body is JsonObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new IngestException(IngestExceptionCode.INVALID_BODY, `${what} must be a JSON object`);
  }
}

/** The id a body names in the collection's key field, if any. */
export function idInBody(collection: Collection, body: JsonObject): string | undefined {
  const value = body[collection.key];
  if (value === undefined) {
    return undefined;
  }
  assertValidId(value, `field "${collection.key}"`);

  return value;
}

/**
 * Makes the document carry its id in the key field, checks that PostgreSQL can store it as it is, and checks it
 * against the collection's schema.
 * Returns the JSON text to store.
 */
export function prepareDocument(collection: Collection, id: string, body: JsonObject): string {
  const named = idInBody(collection, body);
  if (named !== undefined && named !== id) {
    throw new IngestException(
      IngestExceptionCode.INVALID_DOCUMENT,
      `field "${collection.key}" is "${named}" but the URL names "${id}"`,
    );
  }
  const doc = named === undefined ? { ...body, [collection.key]: id } : body;
  // Before the schema check and JSON.stringify, both of which recurse.
  assertFollowsRules(doc, DOCUMENT_RULES);
  const validate = collection.validateDoc;
  if (validate && !validate(doc)) {
    const error = validate.errors?.[0];
    throw new IngestException(
      IngestExceptionCode.INVALID_DOCUMENT,
      `schema violation at ${error?.instancePath || '/'}: ${error?.message ?? 'invalid'}`,
    );
  }

  return JSON.stringify(doc);
}
