import { EntitySchema } from 'typeorm';
import type { EntityDialect } from './entity-dialect';

/** Spillway's own table of deletes; made by the migrations in the connection's current schema (or database). */
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
 * `spillway_tombstones` in the database of `tables` as the migrations made it, with their constraint and index
 * names: on PostgreSQL 1763800000000-create-tombstones, then 1764000000000-index-tombstones-by-stream-ms-alone
 * (`text`, `timestamptz`); on MariaDB and MySQL dialect/mariadb/migrations (`varchar(255)` utf8mb4_bin keys,
 * `datetime(6)`). The migrations create and change the table, this entity only describes it, so a schema plan
 * finds nothing to do on a migrated database. A new migration that changes the table changes this entity too.
 */
export function tombstoneEntity(tables: EntityDialect): EntitySchema<TombstoneRow> {
  const { bigint, timestamptz } = tables.columnTypes;

  return new EntitySchema<TombstoneRow>({
    name: TOMBSTONES_TABLE,
    tableName: TOMBSTONES_TABLE,
    columns: {
      // MariaDB and MySQL name every primary key PRIMARY, whatever the entity says.
      collection: { ...tables.keyText, primary: true, primaryKeyConstraintName: 'PK_spillway_tombstones' },
      id: { ...tables.keyText, primary: true, primaryKeyConstraintName: 'PK_spillway_tombstones' },
      version: { ...bigint },
      stream_ms: { ...bigint },
      deleted_at: { ...timestamptz },
    },
    indices: [{ name: 'IDX_spillway_tombstones_stream_ms_alone', columns: ['stream_ms'] }],
  });
}
