import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * spillway_write_documents_v2: spillway_write_documents_v1 (migrations/1763900000000-create-write-documents-function.ts)
 * returning the ids of the rows it inserted and of those it updated instead of their counts, for a collection with
 * output tables, whose batch writes to them what the state table took. Before, each such batch read those ids back
 * with one more statement (the rows whose `xmin` was the transaction's); v1 stays for the collections without
 * outputs, which need only the counts.
 *
 * Called by apps/sink/src/upsert/batch-sql.ts (WRITE_DOCUMENTS_RETURNING_IDS). The steps, their order and the locks
 * are v1's (`spillway reproject` takes the same locks with outputs/document-locks.ts): change them together, under a
 * new function name in a new migration.
 */
const CREATE_FUNCTION = `
CREATE OR REPLACE FUNCTION spillway_write_documents_v2(
  p_collection text,
  p_table regclass,
  p_ids text[], p_versions bigint[], p_docs json, p_ingested_ms bigint[],
  p_deleted_ids text[], p_deleted_versions bigint[], p_deleted_stream_ms bigint[],
  OUT inserted_ids text[], OUT updated_ids text[], OUT deleted integer)
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(k)
     FROM (SELECT DISTINCT hashtextextended(p_collection || ':' || id, 0) AS k
             FROM unnest(p_ids || p_deleted_ids) AS id ORDER BY k) AS keys;

  inserted_ids := '{}';
  updated_ids := '{}';
  deleted := 0;
  IF cardinality(p_ids) > 0 THEN
    EXECUTE format($sql$
      WITH input AS (
        SELECT id, version, doc, to_timestamp(ingested_ms / 1000.0) AS ts
          FROM ROWS FROM (unnest($2), unnest($3), json_array_elements_text($4), unnest($5)) AS i(id, version, doc, ingested_ms)
      ), written AS (
        INSERT INTO %s AS t (id, version, doc, created_at, updated_at)
        SELECT id, version, doc::jsonb, ts, ts FROM input i
         WHERE coalesce((SELECT tb.version FROM spillway_tombstones tb WHERE tb.collection = $1 AND tb.id = i.id), 0) < i.version
        ON CONFLICT (id) DO UPDATE
           SET version = excluded.version, doc = excluded.doc, updated_at = excluded.updated_at
         WHERE t.version < excluded.version
        RETURNING t.id, (xmax = 0) AS is_new
      )
      SELECT coalesce(array_agg(id) FILTER (WHERE is_new), '{}'), coalesce(array_agg(id) FILTER (WHERE NOT is_new), '{}')
        FROM written$sql$, p_table)
      INTO inserted_ids, updated_ids
      USING p_collection, p_ids, p_versions, p_docs, p_ingested_ms;
  END IF;
  IF cardinality(p_deleted_ids) > 0 THEN
    EXECUTE format($sql$
      WITH input AS (
        SELECT * FROM unnest($2, $3, $4) AS i(id, version, stream_ms)
      ), tombstones AS (
        INSERT INTO spillway_tombstones AS tb (collection, id, version, stream_ms, deleted_at)
        SELECT $1, id, version, stream_ms, now() FROM input
        ON CONFLICT (collection, id) DO UPDATE
           SET version = excluded.version, stream_ms = excluded.stream_ms, deleted_at = excluded.deleted_at
         WHERE tb.version < excluded.version
      ), removed AS (
        DELETE FROM %s AS t USING input i
         WHERE t.id = i.id AND t.version < i.version
        RETURNING t.id
      )
      SELECT count(*)::int FROM removed$sql$, p_table)
      INTO deleted
      USING p_collection, p_deleted_ids, p_deleted_versions, p_deleted_stream_ms;
  END IF;
END
$fn$`;

export class CreateWriteDocumentsV2Function1764100000000 implements MigrationInterface {
  name = 'CreateWriteDocumentsV2Function1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(CREATE_FUNCTION);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION IF EXISTS spillway_write_documents_v2`);
  }
}
