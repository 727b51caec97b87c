/** Field names and values of a change entry on a collection stream. Version 1 of the entry schema. */
export const ENTRY_SCHEMA_VERSION = '1';

export enum ChangeOp {
  PUT = 'put',
  DELETE = 'del',
  EVENT = 'evt',
}

export const EntryField = {
  SCHEMA: 'sv',
  OP: 'op',
  ID: 'id',
  VERSION: 'v',
  DOC: 'd',
  /** Milliseconds since the epoch when ingest accepted the write. */
  INGESTED_AT: 'ts',
} as const;

/** Extra fields a dead-letter entry carries besides the original ones. */
export const DeadLetterField = {
  REASON: 'reason',
  SOURCE_ID: 'source_id',
  DELIVERIES: 'deliveries',
} as const;

/** Fields of the document hash in Redis. */
export const DocField = {
  VERSION: 'v',
  DOC: 'd',
  DELETED: 'x',
  CREATED_AT: 'c',
  UPDATED_AT: 't',
} as const;

export const DEFAULT_GROUP = 'spillway';
