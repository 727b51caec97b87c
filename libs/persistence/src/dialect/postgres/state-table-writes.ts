import type { DataSource } from 'typeorm';
import type { Collection } from '@app/collections';
import { type ChangeEntry, entryIdMs } from '@app/contracts';
import type { SqlSession, StateTableWrites, StateWriteCounts, Statement } from '../sql-dialect';
import { arrayLiteral } from './array-literals';
import { copyField } from './copy-text';
import { sqlStateOf, UNIQUE_VIOLATION } from './error-classes';
import { postgresTable } from './postgres-names';
import type { PostgresSession } from './postgres-session';

/**
 * The state tables' statements on PostgreSQL. A batch of documents is one call of a write function that takes whole
 * arrays (unnest), sent as array literals built here (array-literals.ts: half the driver's cost of building them,
 * 0.27 against 0.54 µs a document); a batch of events is one COPY. Timestamps come as milliseconds since the epoch.
 */

/**
 * Writes a batch's document changes in one statement (migrations/1764200000000-create-write-documents-v3-function.ts):
 * locks their ids, upserts the puts and records the deletes; returns how many rows were inserted, updated, deleted,
 * and with `$3` the ids of the rows inserted and of those updated. The documents come as one jsonb array, joined from
 * their texts (see {@link documentArray}).
 */
const WRITE_DOCUMENTS: Statement = {
  name: 'spillway:write-documents-v3',
  text: `
  SELECT inserted, updated, deleted, inserted_ids, updated_ids
    FROM spillway_write_documents_v3($1, $2::regclass, $3, $4::text[], $5::bigint[], $6::jsonb, $7::bigint[], $8::text[], $9::bigint[], $10::bigint[])`,
};

/**
 * A JSON array of the documents, joined from their texts: no parse here, no escaping, and PostgreSQL parses each
 * document once. The write function checks that the array holds one element a document.
 */
const documentArray = (puts: readonly ChangeEntry[]): string => `[${puts.map((e) => e.doc).join(',')}]`;

/**
 * A batch of events straight into the table. Most batches hold only new events, which COPY takes for about 60% of
 * PostgreSQL's CPU of an INSERT … SELECT … ON CONFLICT (10 against 17 µs a row, a 300,000-event drain by 2 sinks on 2
 * cores); a batch with an event stored before (a redelivery) fails it on the primary key, changing nothing, and is
 * written again with {@link insertNewEvents}.
 */
const copyEvents = (collection: Collection): string =>
  `COPY ${postgresTable(collection)} (id, doc, ingested_at) FROM STDIN`;

/**
 * Events as COPY's text rows: id, document, ingestion time. The events of one request share their ingestion time, so
 * its text is made once for a run of them (toISOString is a third of this function's time).
 */
function eventRows(events: readonly ChangeEntry[]): string {
  let ms = Number.NaN;
  let time = '';

  return events
    .map((e) => {
      if (e.ingestedAt !== ms) {
        ms = e.ingestedAt;
        time = new Date(ms).toISOString();
      }

      return `${copyField(e.id)}\t${copyField(e.doc)}\t${time}\n`;
    })
    .join('');
}

/** Inserts events once; an id already stored is left alone. */
const insertNewEvents = (collection: Collection): Statement => ({
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
 * the ids as a text array): the keys, and the order they are taken in, of step 1 of spillway_write_documents_v1,
 * _v2 and _v3, so that whoever takes them waits for a sink writing those documents, and the other way round, without
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

/** PostgreSQL's {@link StateTableWrites}: the write functions of the migrations, COPY, unnest inserts. */
export const postgresStateWrites: StateTableWrites = {
  async writeDocuments(session, collection, { puts, deletes }, { withIds }) {
    const [written] = await session.rows<StateWriteCounts & { inserted_ids: string[]; updated_ids: string[] }>(
      WRITE_DOCUMENTS,
      [
        collection.name,
        postgresTable(collection),
        withIds,
        arrayLiteral(puts.map((e) => e.id)),
        arrayLiteral(puts.map((e) => e.version)),
        documentArray(puts),
        arrayLiteral(puts.map((e) => e.ingestedAt)),
        arrayLiteral(deletes.map((e) => e.id)),
        arrayLiteral(deletes.map((e) => e.version)),
        arrayLiteral(deletes.map((e) => entryIdMs(e.entryId))),
      ],
    );
    if (written === undefined) {
      throw new Error('spillway_write_documents_v3 returned no row');
    }
    const { inserted, updated, deleted } = written;
    if (!withIds) {
      return { inserted, updated, deleted };
    }
    const rows = new Map<string, boolean>();
    written.inserted_ids.forEach((id) => rows.set(id, true));
    written.updated_ids.forEach((id) => rows.set(id, false));

    return { inserted, updated, deleted, rows };
  },

  async insertEvents(session, collection, events) {
    const postgres = session as PostgresSession;
    try {
      await postgres.undoingOnError(() => postgres.copyIn(copyEvents(collection), eventRows(events)));

      return events.map((e) => e.id);
    } catch (error) {
      if (sqlStateOf(error) !== UNIQUE_VIOLATION) {
        throw error;
      }
    }
    const rows = await session.rows<{ id: string }>(insertNewEvents(collection), [
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
