import { EntitySchema } from 'typeorm';

/** Spillway's own table of deletes; made by the migrations in the connection's current schema. */
export const TOMBSTONES_TABLE = 'spillway_tombstones';

/** A row of `spillway_tombstones`: the newest delete of a document, kept until its stream entries are trimmed. */
export interface TombstoneRow {
  collection: string;
  id: string;
  /** bigint, as the driver returns it */
  version: string;
  /** bigint: the stream entry's milliseconds, to prune by */
  stream_ms: string;
  deleted_at: Date;
}

/**
 * `spillway_tombstones` as the migrations made it (1763800000000-create-tombstones, then
 * 1764000000000-index-tombstones-by-stream-ms-alone), with their constraint and index names: the migrations create
 * and change the table, this entity only describes it, so a schema plan finds nothing to do on a migrated database.
 * A new migration that changes the table changes this entity too.
 */
export const TombstoneEntity = new EntitySchema<TombstoneRow>({
  name: TOMBSTONES_TABLE,
  tableName: TOMBSTONES_TABLE,
  columns: {
    collection: { type: 'text', primary: true, primaryKeyConstraintName: 'PK_spillway_tombstones' },
    id: { type: 'text', primary: true, primaryKeyConstraintName: 'PK_spillway_tombstones' },
    version: { type: 'bigint' },
    stream_ms: { type: 'bigint' },
    deleted_at: { type: 'timestamptz' },
  },
  indices: [{ name: 'IDX_spillway_tombstones_stream_ms_alone', columns: ['stream_ms'] }],
});
