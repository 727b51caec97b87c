/**
 * The statements of a batch. Each takes whole arrays (unnest), so a batch costs one statement, not one per row.
 * Documents come as one JSON array of their texts, which JSON.stringify builds natively, where a text[] parameter has
 * the driver escape every quote of every document. Timestamps come as milliseconds since the epoch. `table` is a
 * quoted, validated name.
 */

/**
 * Writes a batch's document changes in one statement (libs/persistence/src/migrations/*-create-write-documents-function.ts):
 * locks their ids, upserts the puts and records the deletes; returns how many rows were inserted, updated, deleted.
 */
export const WRITE_DOCUMENTS = `
  SELECT inserted, updated, deleted
    FROM spillway_write_documents_v1($1, $2::regclass, $3::text[], $4::bigint[], $5::json, $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])`;

/**
 * WRITE_DOCUMENTS for a collection with output tables (spillway_write_documents_v2, in
 * libs/persistence/src/migrations/*-create-write-documents-v2-function.ts): returns the ids of the rows it inserted
 * and of those it updated, whose puts the output tables then take, and how many rows were deleted.
 */
export const WRITE_DOCUMENTS_RETURNING_IDS = `
  SELECT inserted_ids, updated_ids, deleted
    FROM spillway_write_documents_v2($1, $2::regclass, $3::text[], $4::bigint[], $5::json, $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])`;

/** Inserts events once; an id already stored is left alone. */
export const insertEvents = (table: string) => `
  INSERT INTO ${table} (id, doc, ingested_at)
  SELECT id, doc::jsonb, to_timestamp(ingested_ms / 1000.0)
    FROM ROWS FROM (unnest($1::text[]), json_array_elements_text($2::json), unnest($3::bigint[])) AS i(id, doc, ingested_ms)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

/** Forgets tombstones that no older entry can reach any more. */
export const PRUNE_TOMBSTONES = `DELETE FROM spillway_tombstones WHERE collection = $1 AND stream_ms < $2`;
