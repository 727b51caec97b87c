import type { DataSource } from 'typeorm';
import type { Collection } from '@app/collections';
import { type ChangeEntry, entryIdMs } from '@app/contracts';
import type { SqlSession, StateTableWrites, StateWriteCounts, Statement } from '../sql-dialect';
import { postgresTable } from './postgres-names';

/**
 * The state tables' statements on PostgreSQL. Each takes whole arrays (unnest), so a batch costs one statement, not
 * one per row. Documents come as one JSON array of their texts, which JSON.stringify builds natively, where a text[]
 * parameter has the driver escape every quote of every document. Timestamps come as milliseconds since the epoch.
 */

/**
 * Writes a batch's document changes in one statement (migrations/1763900000000-create-write-documents-function.ts):
 * locks their ids, upserts the puts and records the deletes; returns how many rows were inserted, updated, deleted.
 */
const WRITE_DOCUMENTS: Statement = {
  name: 'spillway:write-documents',
  text: `
  SELECT inserted, updated, deleted
    FROM spillway_write_documents_v1($1, $2::regclass, $3::text[], $4::bigint[], $5::json, $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])`,
};

/**
 * WRITE_DOCUMENTS for a collection with output tables (spillway_write_documents_v2, in
 * migrations/1764100000000-create-write-documents-v2-function.ts): returns the ids of the rows it inserted and of
 * those it updated, whose puts the output tables then take, and how many rows were deleted.
 */
const WRITE_DOCUMENTS_RETURNING_IDS: Statement = {
  name: 'spillway:write-documents-returning-ids',
  text: `
  SELECT inserted_ids, updated_ids, deleted
    FROM spillway_write_documents_v2($1, $2::regclass, $3::text[], $4::bigint[], $5::json, $6::bigint[], $7::text[], $8::bigint[], $9::bigint[])`,
};

/** Inserts events once; an id already stored is left alone. */
const insertEvents = (collection: Collection): Statement => ({
  name: `spillway:events:${collection.name}`,
  text: `
  INSERT INTO ${postgresTable(collection)} (id, doc, ingested_at)
  SELECT id, doc::jsonb, to_timestamp(ingested_ms / 1000.0)
    FROM ROWS FROM (unnest($1::text[]), json_array_elements_text($2::json), unnest($3::bigint[])) AS i(id, doc, ingested_ms)
  ON CONFLICT (id) DO NOTHING
  RETURNING id`,
});

/**
 * Takes the transaction-scoped advisory locks of some documents of a collection (parameters: the collection's name,
 * the ids as a text array): the keys, and the order they are taken in, of step 1 of spillway_write_documents_v1 and
 * _v2, so that whoever takes them waits for a sink writing those documents, and the other way round, without
 * deadlocks. A change to one must be made to the others.
 */
const LOCK_DOCUMENTS: Statement = {
  name: 'spillway:lock-documents',
  text: `
  SELECT count(pg_advisory_xact_lock(k))::int AS locked
    FROM (SELECT DISTINCT hashtextextended($1 || ':' || id, 0) AS k
            FROM unnest($2::text[]) AS id ORDER BY k) AS keys`,
};

/** Forgets tombstones that no older entry can reach any more. */
const PRUNE_TOMBSTONES = `DELETE FROM spillway_tombstones WHERE collection = $1 AND stream_ms < $2`;

/** The parameters of spillway_write_documents_v1 and _v2. */
const documentParameters = (collection: Collection, puts: readonly ChangeEntry[], deletes: readonly ChangeEntry[]) => [
  collection.name,
  postgresTable(collection),
  puts.map((e) => e.id),
  puts.map((e) => e.version),
  JSON.stringify(puts.map((e) => e.doc)),
  puts.map((e) => e.ingestedAt),
  deletes.map((e) => e.id),
  deletes.map((e) => e.version),
  deletes.map((e) => entryIdMs(e.entryId)),
];

/** PostgreSQL's {@link StateTableWrites}: the write functions of the migrations, and unnest inserts. */
export const postgresStateWrites: StateTableWrites = {
  async writeDocuments(session, collection, { puts, deletes }, { withIds }) {
    const parameters = documentParameters(collection, puts, deletes);
    if (!withIds) {
      const [written] = await session.rows<StateWriteCounts>(WRITE_DOCUMENTS, parameters);
      if (written === undefined) {
        throw new Error('spillway_write_documents_v1 returned no row');
      }

      return written;
    }
    const [written] = await session.rows<{ inserted_ids: string[]; updated_ids: string[]; deleted: number }>(
      WRITE_DOCUMENTS_RETURNING_IDS,
      parameters,
    );
    if (written === undefined) {
      throw new Error('spillway_write_documents_v2 returned no row');
    }
    const rows = new Map<string, boolean>();
    written.inserted_ids.forEach((id) => rows.set(id, true));
    written.updated_ids.forEach((id) => rows.set(id, false));

    return {
      inserted: written.inserted_ids.length,
      updated: written.updated_ids.length,
      deleted: written.deleted,
      rows,
    };
  },

  async insertEvents(session, collection, events) {
    const rows = await session.rows<{ id: string }>(insertEvents(collection), [
      events.map((e) => e.id),
      JSON.stringify(events.map((e) => e.doc)),
      events.map((e) => e.ingestedAt),
    ]);

    return rows.map((r) => r.id);
  },

  async lockDocuments(session: SqlSession, collection: string, ids: readonly string[]) {
    await session.rows(LOCK_DOCUMENTS, [collection, ids]);
  },

  async pruneTombstones(dataSource: DataSource, collection: string, beforeMs: number) {
    await dataSource.query(PRUNE_TOMBSTONES, [collection, beforeMs]);
  },
};
