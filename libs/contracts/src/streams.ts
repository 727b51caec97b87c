/**
 * The change entry on a collection stream, version 3 of its layout: one field-value pair, the header as the field
 * name and the document as its value, so a reply of entries costs the sink's Redis client 5 RESP elements an entry
 * where layout 2 took 7.
 *
 *   field  the header `3 <op> <id> <version> <ingested at, ms since the epoch>`, single spaces (ids never hold one)
 *   value  the document or event JSON; empty for a delete
 *
 * The sink still reads version 2 (fields h = header `2 …`, d = document) and version 1 (fields sv=1, op, id, v, d,
 * ts), so a backlog written before an upgrade drains.
 */
export const ENTRY_SCHEMA_VERSION = '3';

/** The sinks' consumer group on every collection stream unless SINK_GROUP names another. */
export const DEFAULT_SINK_GROUP = 'spillway';

/** The database `DATABASE_URL` names; other connections are named by `SPILLWAY_CONNECTIONS`. */
export const DEFAULT_CONNECTION = 'default';

/**
 * The consumer group that writes a collection's stream into one connection's database: the sink group itself for the
 * default connection, `<group>.<connection>` for a named one, so each database commits, acks and lags on its own.
 */
export function connectionGroup(group: string, connection: string): string {
  return connection === DEFAULT_CONNECTION ? group : `${group}.${connection}`;
}

/** The connection a consumer group writes to: the inverse of {@link connectionGroup}; undefined for another group. */
export function connectionOfGroup(group: string, sinkGroup: string): string | undefined {
  if (group === sinkGroup) {
    return DEFAULT_CONNECTION;
  }

  return group.startsWith(`${sinkGroup}.`) ? group.slice(sinkGroup.length + 1) : undefined;
}

export enum ChangeOp {
  PUT = 'put',
  DELETE = 'del',
  EVENT = 'evt',
}

/** The fields of a version 2 entry. */
export const EntryFieldV2 = {
  HEADER: 'h',
  DOC: 'd',
} as const;

/** The fields of a version 1 entry. */
export const EntryFieldV1 = {
  SCHEMA: 'sv',
  OP: 'op',
  ID: 'id',
  VERSION: 'v',
  DOC: 'd',
  INGESTED_AT: 'ts',
} as const;

/** Extra fields a dead-letter entry carries besides the original ones. */
export const DeadLetterField = {
  REASON: 'reason',
  SOURCE_ID: 'source_id',
  DELIVERIES: 'deliveries',
  /** The consumer group that gave up on the entry: which connection's database refused it (`connectionOfGroup`). */
  GROUP: 'group',
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
