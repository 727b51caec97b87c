/**
 * The statements of one batch transaction. Each takes whole arrays (unnest), so a batch costs one round trip per
 * kind of change, not one per row. Documents come as one JSON array of their texts, which JSON.stringify builds
 * natively, where a text[] parameter has the driver escape every quote of every document. Timestamps come as
 * milliseconds since the epoch. `table` is a quoted, validated name.
 */

/** Serializes writers of the same documents across replicas; taken in key order, so it cannot deadlock. */
export const LOCK_DOCUMENTS = `
  SELECT pg_advisory_xact_lock(k)
    FROM (SELECT DISTINCT hashtextextended($1 || ':' || id, 0) AS k FROM unnest($2::text[]) AS id ORDER BY k) AS keys`;

/**
 * Inserts or updates rows, only where the entry is newer than the row and than any tombstone. The tombstone is
 * looked up by primary key for each row of the batch (a correlated subquery): as a join, the planner built a hash
 * of every tombstone of the collection for each batch, a cost that grew with the deletes of the last hour.
 */
export const upsertDocuments = (table: string) => `
  WITH input AS (
    SELECT id, version, doc, to_timestamp(ingested_ms / 1000.0) AS ts
      FROM ROWS FROM (unnest($2::text[]), unnest($3::bigint[]), json_array_elements_text($4::json), unnest($5::bigint[]))
        AS i(id, version, doc, ingested_ms)
  ), alive AS (
    SELECT i.* FROM input i
     WHERE coalesce((SELECT tb.version FROM spillway_tombstones tb WHERE tb.collection = $1 AND tb.id = i.id), 0) < i.version
  )
  INSERT INTO ${table} AS t (id, version, doc, created_at, updated_at)
  SELECT id, version, doc::jsonb, ts, ts FROM alive
  ON CONFLICT (id) DO UPDATE
     SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at
   WHERE t.version < excluded.version
  RETURNING (xmax = 0) AS inserted`;

/** Records tombstones (newest wins) and removes rows older than the delete. */
export const deleteDocuments = (table: string) => `
  WITH input AS (
    SELECT * FROM unnest($2::text[], $3::bigint[], $4::bigint[]) AS i(id, version, stream_ms)
  ), tombstones AS (
    INSERT INTO spillway_tombstones AS tb (collection, id, version, stream_ms, deleted_at)
    SELECT $1, id, version, stream_ms, now() FROM input
    ON CONFLICT (collection, id) DO UPDATE
       SET version = excluded.version, stream_ms = excluded.stream_ms, deleted_at = excluded.deleted_at
     WHERE tb.version < excluded.version
    RETURNING tb.id
  )
  DELETE FROM ${table} AS t USING input i
   WHERE t.id = i.id AND t.version < i.version
  RETURNING t.id`;

/** Inserts events once; an id already stored is left alone. */
export const insertEvents = (table: string) => `
  INSERT INTO ${table} (id, doc, ingested_at)
  SELECT id, doc::jsonb, to_timestamp(ingested_ms / 1000.0)
    FROM ROWS FROM (unnest($1::text[]), json_array_elements_text($2::json), unnest($3::bigint[])) AS i(id, doc, ingested_ms)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`;

/** Forgets tombstones that no older entry can reach any more. */
export const PRUNE_TOMBSTONES = `DELETE FROM spillway_tombstones WHERE collection = $1 AND stream_ms < $2`;
