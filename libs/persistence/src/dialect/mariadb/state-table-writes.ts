import type { DataSource } from 'typeorm';
import { format } from 'mysql2';
import type { Collection } from '@app/collections';
import { type ChangeEntry, entryIdMs } from '@app/contracts';
import type { SqlSession, StateTableWrites, Statement } from '../sql-dialect';
import { lockDocuments } from './document-locks';
import { mariadbStateTable } from './mariadb-names';
import { type StatementLimits, statementLimitsOfSession } from './mariadb-session';
import { chunkRows, IN_LIST_MAX, LITERAL_BYTES, quotedBytes } from './statement-chunks';
import { StatementTooLargeError } from './statement-too-large.error';

/**
 * The state tables' statements on MariaDB and MySQL. A batch of puts is four statements (lock, two reads, one
 * upsert), deletes add two, each split only where a limit says so (statement-chunks.ts).
 *
 * Why the versions are read first: mysql2 sets FOUND_ROWS, so an upsert's affectedRows counts a stale row as it
 * counts an inserted one, and MySQL has no RETURNING to say which rows a statement wrote. The batch's documents are
 * locked first (document-locks.ts), and every writer of a document takes its lock, so the versions read under it
 * stay true until the commit: what the statements will do to each id, and so the counts and the ids, follows from
 * them. A put at or below its document's tombstone, or at or below its row, is left out of the upsert; the upsert
 * keeps the row's version guard itself all the same.
 *
 * Measured on MariaDB 10.11 (2 shared cores), a batch of 500 puts of 200-byte documents, commit included: 14 ms
 * inserting them, 16.5 ms updating them; the lock takes 3 ms of that, the upsert statement alone 9 ms.
 *
 * Ids are unique within a call (a coalesced batch). Values go in literally (mysql2 formats `?` on the client);
 * timestamps as UTC datetime literals, which no session time zone shifts.
 */

/**
 * The version guard in MySQL's dialect. `ON DUPLICATE KEY UPDATE` assigns left to right, each assignment seeing the
 * ones before it, so every column is guarded on the stored version and `version` is assigned last. `VALUES(col)` is
 * the form MariaDB 10.11 and every MySQL 8 and 9 run (MySQL 8.0.20+ warns it is deprecated in favour of a row alias,
 * `VALUES (...) AS new`, which MariaDB does not parse). Exported for the bench's raw ceiling (bench/lib/raw-mariadb.ts):
 * a row is `[id, version, doc, created_at, updated_at]`.
 */
export const upsertDocuments = (table: string): Statement => ({
  name: '',
  text: `INSERT INTO ${table} (id, version, doc, created_at, updated_at) VALUES ?
  ON DUPLICATE KEY UPDATE
    doc = IF(VALUES(version) > version, VALUES(doc), doc),
    updated_at = IF(VALUES(version) > version, VALUES(updated_at), updated_at),
    version = IF(VALUES(version) > version, VALUES(version), version)`,
});

/** Records deletes; a tombstone is only replaced by a newer one (guarded as {@link upsertDocuments}). */
const UPSERT_TOMBSTONES: Statement = {
  name: '',
  text: `INSERT INTO spillway_tombstones (collection, id, version, stream_ms, deleted_at) VALUES ?
  ON DUPLICATE KEY UPDATE
    stream_ms = IF(VALUES(version) > version, VALUES(stream_ms), stream_ms),
    deleted_at = IF(VALUES(version) > version, VALUES(deleted_at), deleted_at),
    version = IF(VALUES(version) > version, VALUES(version), version)`,
};

/** Removes rows at exactly the version read under the lock (each older than its delete). */
const deleteRows = (table: string): Statement => ({
  name: '',
  text: `DELETE FROM ${table} WHERE (id, version) IN (?)`,
});

/** Inserts events once: a stored id is left alone, and no other error is swallowed (as INSERT IGNORE would). */
const insertEvents = (table: string): Statement => ({
  name: '',
  text: `INSERT INTO ${table} (id, doc, ingested_at) VALUES ? ON DUPLICATE KEY UPDATE id = id`,
});

const rowVersions = (table: string): Statement => ({
  name: '',
  text: `SELECT id, version FROM ${table} WHERE id IN (?)`,
});

const eventIds = (table: string): Statement => ({ name: '', text: `SELECT id FROM ${table} WHERE id IN (?)` });

const TOMBSTONE_VERSIONS: Statement = {
  name: '',
  text: 'SELECT id, version FROM spillway_tombstones WHERE collection = ? AND id IN (?)',
};

const PRUNE_TOMBSTONES = 'DELETE FROM spillway_tombstones WHERE collection = ? AND stream_ms < ?';

/** A datetime(6) literal of milliseconds since the epoch, in UTC. */
const utcDatetime = (ms: number): string => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

/**
 * Runs `statement` once per chunk of `rows` (VALUES lists); returns the affected rows of all. A row too large for a
 * chunk goes alone, after an exact measure: larger than max_allowed_packet, it is refused here
 * ({@link StatementTooLargeError}).
 */
async function changesInChunks(
  session: SqlSession,
  statement: Statement,
  rows: readonly unknown[][],
  { chunkBytes, maxPacket }: StatementLimits,
): Promise<number> {
  const valuesPerRow = rows[0]?.length ?? 1;
  const bytesOf = (row: unknown[]) =>
    row.reduce<number>((sum, value) => sum + (typeof value === 'string' ? quotedBytes(value) : LITERAL_BYTES), 4);
  let changes = 0;
  for (const chunk of chunkRows(rows, { valuesPerRow, maxBytes: chunkBytes, bytesOf })) {
    const [only] = chunk;
    if (chunk.length === 1 && only !== undefined && bytesOf(only) > chunkBytes) {
      const bytes = Buffer.byteLength(format(statement.text, [chunk] as Parameters<typeof format>[1]));
      if (bytes > maxPacket) {
        throw new StatementTooLargeError(bytes, maxPacket);
      }
    }
    changes += await session.changes(statement, [chunk]);
  }

  return changes;
}

/** The rows `statement` (`… IN (?)`, after `leading` values) returns for `ids`, read in IN lists of IN_LIST_MAX. */
async function rowsOfIds<T>(
  session: SqlSession,
  statement: Statement,
  leading: readonly unknown[],
  ids: readonly string[],
  { chunkBytes }: StatementLimits,
): Promise<T[]> {
  const rows: T[] = [];
  const chunks = chunkRows(ids, { valuesPerRow: 1, maxBytes: chunkBytes, bytesOf: quotedBytes });
  for (const chunk of chunks.flatMap((c) => splitEvery(c, IN_LIST_MAX))) {
    rows.push(...(await session.rows<T>(statement, [...leading, chunk])));
  }

  return rows;
}

function splitEvery<T>(items: readonly T[], size: number): T[][] {
  const parts: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    parts.push(items.slice(start, start + size));
  }

  return parts;
}

/** What the batch's documents hold now, under their locks: each id's row version and tombstone version. */
async function storedVersions(
  session: SqlSession,
  collection: Collection,
  ids: readonly string[],
  limits: StatementLimits,
): Promise<{ rows: Map<string, number>; tombstones: Map<string, number> }> {
  type Version = { id: string; version: string | number };
  const asMap = (versions: Version[]) => new Map(versions.map((v) => [v.id, Number(v.version)]));
  const rows = await rowsOfIds<Version>(session, rowVersions(mariadbStateTable(collection)), [], ids, limits);
  const tombstones = await rowsOfIds<Version>(session, TOMBSTONE_VERSIONS, [collection.name], ids, limits);

  return { rows: asMap(rows), tombstones: asMap(tombstones) };
}

/** MariaDB's and MySQL's {@link StateTableWrites}: row locks in key order, versions read under them, upserts. */
export const mariadbStateWrites: StateTableWrites = {
  async writeDocuments(session, collection, { puts, deletes }, { withIds }) {
    if (puts.length + deletes.length === 0) {
      return { inserted: 0, updated: 0, deleted: 0, ...(withIds ? { rows: new Map<string, boolean>() } : {}) };
    }
    const ids = [...puts, ...deletes].map((e) => e.id);
    await lockDocuments(session, collection.name, ids);
    const limits = await statementLimitsOfSession(session);
    const stored = await storedVersions(session, collection, ids, limits);
    const table = mariadbStateTable(collection);

    const written = new Map<string, boolean>();
    const upserts: ChangeEntry[] = [];
    for (const put of puts) {
      const rowVersion = stored.rows.get(put.id);
      const isNewer = put.version > (rowVersion ?? 0) && put.version > (stored.tombstones.get(put.id) ?? 0);
      if (isNewer) {
        upserts.push(put);
        written.set(put.id, rowVersion === undefined);
      }
    }
    await changesInChunks(
      session,
      upsertDocuments(table),
      upserts.map((e) => [e.id, e.version, e.doc, utcDatetime(e.ingestedAt), utcDatetime(e.ingestedAt)]),
      limits,
    );

    let deleted = 0;
    if (deletes.length > 0) {
      const now = utcDatetime(Date.now());
      await changesInChunks(
        session,
        UPSERT_TOMBSTONES,
        deletes.map((e) => [collection.name, e.id, e.version, entryIdMs(e.entryId), now]),
        limits,
      );
      const older = deletes.flatMap((e) => {
        const rowVersion = stored.rows.get(e.id);

        return rowVersion !== undefined && rowVersion < e.version ? [[e.id, rowVersion]] : [];
      });
      for (const chunk of splitEvery(older, IN_LIST_MAX)) {
        deleted += await changesInChunks(session, deleteRows(table), chunk, limits);
      }
    }
    const inserted = [...written.values()].filter(Boolean).length;

    return {
      inserted,
      updated: written.size - inserted,
      deleted,
      ...(withIds ? { rows: written } : {}),
    };
  },

  async insertEvents(session, collection, events) {
    if (events.length === 0) {
      return [];
    }
    const ids = events.map((e) => e.id);
    // Locked like documents, so that of two sinks inserting the same event only one reports it inserted.
    await lockDocuments(session, collection.name, ids);
    const limits = await statementLimitsOfSession(session);
    const table = mariadbStateTable(collection);
    const stored = new Set(
      (await rowsOfIds<{ id: string }>(session, eventIds(table), [], ids, limits)).map((r) => r.id),
    );
    const fresh = events.filter((e) => !stored.has(e.id));
    await changesInChunks(
      session,
      insertEvents(table),
      fresh.map((e) => [e.id, e.doc, utcDatetime(e.ingestedAt)]),
      limits,
    );

    return fresh.map((e) => e.id);
  },

  lockDocuments,

  async pruneTombstones(dataSource: DataSource, collection: string, beforeMs: number) {
    await dataSource.query(PRUNE_TOMBSTONES, [collection, beforeMs]);
  },
};
