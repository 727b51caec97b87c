/**
 * What went wrong with a request, as the store and the services say it. The problem+json filter
 * (http/problem-details.filter.ts) turns each code into its HTTP status, title and headers; `_bulk` reports it per item.
 */
export enum IngestExceptionCode {
  /** No `Authorization: Bearer <key>` with a configured key. */
  UNAUTHORIZED = 'UNAUTHORIZED',
  /** A valid API key that may not do this: a write with a read-only key, or a collection outside the key's scope. */
  FORBIDDEN = 'FORBIDDEN',
  /** No collection of that name is configured. */
  UNKNOWN_COLLECTION = 'UNKNOWN_COLLECTION',
  /** A document write to an event collection, or an event to a document collection. */
  WRONG_COLLECTION_KIND = 'WRONG_COLLECTION_KIND',
  /** A JSON body in another charset than UTF-8. */
  UNSUPPORTED_CHARSET = 'UNSUPPORTED_CHARSET',
  /** A body that is not UTF-8 JSON text. */
  MALFORMED_JSON = 'MALFORMED_JSON',
  /** A body that is JSON but not what the route takes: too deep, a prototype key, not an object, a bad `_bulk` item. */
  INVALID_BODY = 'INVALID_BODY',
  /** An id that is not 1 to 200 characters of A-Z a-z 0-9 . _ : - */
  INVALID_ID = 'INVALID_ID',
  /** A `Durability` header that names no level. */
  INVALID_DURABILITY = 'INVALID_DURABILITY',
  /** A durability level this Redis cannot give (`aof` before Redis 7.2, or with its AOF off): nothing was changed. */
  DURABILITY_UNSUPPORTED = 'DURABILITY_UNSUPPORTED',
  /** An If-Match header or `ifMatch` field that is not a version. */
  INVALID_IF_MATCH = 'INVALID_IF_MATCH',
  /** A document the database could not store as sent, or that breaks its collection's schema or names another id. */
  INVALID_DOCUMENT = 'INVALID_DOCUMENT',
  /** A batch read without ids, or with too many. */
  INVALID_QUERY = 'INVALID_QUERY',
  /** The document does not exist (never written, or deleted). */
  NOT_FOUND = 'NOT_FOUND',
  /** A create of an id that exists. */
  ALREADY_EXISTS = 'ALREADY_EXISTS',
  /** A conditional write whose If-Match did not hold, or that lost its race. */
  VERSION_MISMATCH = 'VERSION_MISMATCH',
  /** The collection's unwritten backlog is over INGEST_MAX_BACKLOG. */
  BACKLOG_FULL = 'BACKLOG_FULL',
  /** Redis could not be reached, or cannot serve yet: nothing was changed. */
  REDIS_UNAVAILABLE = 'REDIS_UNAVAILABLE',
  /** Redis went away after a write was sent and before it answered: the write may have been applied. */
  OUTCOME_UNKNOWN = 'OUTCOME_UNKNOWN',
  /** The database could not be reached, or answered too slowly, for a request that needs it. */
  DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE',
  /** Every item of a `_bulk` failed for want of Redis or the database: nothing was written. */
  BULK_UNAVAILABLE = 'BULK_UNAVAILABLE',
}

/** The one error type ingest throws for a request it refuses or cannot serve; its message is the problem's detail. */
export class IngestException extends Error {
  constructor(
    readonly code: IngestExceptionCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
