import type { DataSource } from 'typeorm';
import type { Collection } from '@app/collections';
import { type ChangeEntry, entryIdMs } from '@app/contracts';
import type { SqlSession, StateTableWrites, Statement } from '../sql-dialect';
import { lockDocuments } from './document-locks';
import { mariadbStateTable } from './mariadb-names';
import { type StatementLimits, statementLimitsOfSession } from './mariadb-session';
import {
  datetimeLiteral,
  integerLiteral,
  literalBytesAtMost,
  rowLiteral,
  RowsLiteral,
  textLiteral,
} from './row-literals';
import { chunkRows, IN_LIST_MAX, quotedBytes } from './statement-chunks';
import { StatementTooLargeError } from './statement-too-large.error';

/**
 * The state tables' statements on MariaDB and MySQL. A batch of puts is three statements (lock, one read of the rows'
 * and the tombstones' versions, one upsert), deletes add two; a batch of events is one insert. Each is split only
 * where a limit says so (statement-chunks.ts).
 *
 * Why the versions are read first: mysql2 sets FOUND_ROWS, so an upsert's affectedRows counts a stale row as it
 * counts an inserted one, and MySQL has no RETURNING to say which rows a statement wrote. The batch's documents are
 * locked first (document-locks.ts), and every writer of a document takes its lock, so the versions read under it
 * stay true until the commit: what the statements will do to each id, and so the counts and the ids, follows from
 * them. A put at or below its document's tombstone, or at or below its row, is left out of the upsert; the upsert
 * keeps the row's version guard itself all the same.
 *
 * Measured on MariaDB 10.11 (2 shared cores), a batch of 500 puts of 200-byte documents, commit included: 14 ms
 * inserting them, 16.5 ms updating them; the lock takes 3 ms of that, the upsert statement alone 9 ms. Of mariadbd's
 * CPU a million first writes (one client, 500-row batches): upsert alone 16-17.5 s, with the lock 20.5, with the
 * read 21.5, with both 25; a plain INSERT instead of the upsert costs the same, so first writes keep the upsert.
 * `bench/batch-write.ts plain --batch 500 --deletes 0 --db mariadb` (2 writers), CPU-s a million rows, client and
 * mariadbd: 20.6-21.1 and 36-38 with two reads and mysql2's format; 13.4-14.0 and 34-35 with one read and
 * row-literals.ts.
 *
 * Events take no lock and read nothing first: the insert is a plain INSERT of ids in order, and the primary key
 * makes it exact. Of two sinks inserting the same event, InnoDB makes the later wait on the earlier's uncommitted
 * row, then refuses it (1062) once that one commits, or lets it in if that one rolls back; the refused statement
 * alone is rolled back, and the stored ids among its ids are read (a locking read, which sees every committed row
 * and waits for an insert still in flight) and left out of the insert made again. So each event is reported
 * inserted by one sink, as PostgreSQL's `ON CONFLICT DO NOTHING RETURNING` does, and a batch of new events is one
 * statement, where locking their slots and reading their ids first made three. `bench/batch-write.ts events --batch
 * 500 --db mariadb`, CPU-s a million rows, client and mariadbd: 8.3-12.3 and 16-18 before, 5.3-6.6 and 7.7-8.9
 * after (one client's raw multi-row insert of the same rows: 3.8-4.9 and 6.2-6.6).
 *
 * Ids are unique within a call (a coalesced batch). Values go in as literals the dialect writes (row-literals.ts);
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

/**
 * Inserts events: a stored id refuses the statement (1062), which {@link insertEventsOnce} then retries without it.
 * No other error is swallowed (as INSERT IGNORE would), and no stored event is touched.
 */
const insertEvents = (table: string): Statement => ({
  name: '',
  text: `INSERT INTO ${table} (id, doc, ingested_at) VALUES ?`,
});

/** The row versions (`tombstone` 0) and the tombstone versions (1) of some ids of a collection, in one read. */
const storedVersionsOf = (table: string): Statement => ({
  name: '',
  text: `SELECT 0 AS tombstone, id, version FROM ${table} WHERE id IN (?)
  UNION ALL SELECT 1, id, version FROM spillway_tombstones WHERE collection = ? AND id IN (?)`,
});

/** A locking read: it waits for an insert of these ids still in flight, and sees committed rows whatever the isolation. */
const eventIds = (table: string): Statement => ({
  name: '',
  text: `SELECT id FROM ${table} WHERE id IN (?) LOCK IN SHARE MODE`,
});

const PRUNE_TOMBSTONES = 'DELETE FROM spillway_tombstones WHERE collection = ? AND stream_ms < ?';

/** ER_DUP_ENTRY: a key the statement would insert is stored already. */
const DUPLICATE_KEY = 1062;

const isDuplicateKey = (error: unknown): boolean => {
  const driverError = (error as { driverError?: unknown } | null)?.driverError ?? error;

  return (driverError as { errno?: unknown } | null)?.errno === DUPLICATE_KEY;
};

/**
 * Splits rows (each from {@link rowLiteral}) into the statements `statement` (`… VALUES ?`) runs, under the
 * placeholder limit and the chunk size. A row too large for a chunk goes alone: larger than max_allowed_packet with
 * the statement around it, it is refused here ({@link StatementTooLargeError}).
 */
function rowChunks(
  statement: Statement,
  rows: readonly string[],
  valuesPerRow: number,
  { chunkBytes, maxPacket }: StatementLimits,
): RowsLiteral[] {
  const bytesOf = (row: string) => literalBytesAtMost(row.length + 2);
  const chunks = chunkRows(rows, { valuesPerRow, maxBytes: chunkBytes, bytesOf });

  return chunks.map((chunk) => {
    const literal = new RowsLiteral(chunk, valuesPerRow);
    const [only] = chunk;
    if (only !== undefined && chunk.length === 1 && bytesOf(only) > chunkBytes) {
      const bytes = Buffer.byteLength(statement.text) - 1 + literal.bytes;
      if (bytes > maxPacket) {
        throw new StatementTooLargeError(bytes, maxPacket);
      }
    }

    return literal;
  });
}

/** Runs `statement` (`… VALUES ?`) once per chunk of `rows` (see {@link rowChunks}); returns the affected rows of all. */
async function changesInChunks(
  session: SqlSession,
  statement: Statement,
  rows: readonly string[],
  valuesPerRow: number,
  limits: StatementLimits,
): Promise<number> {
  let changes = 0;
  for (const chunk of rowChunks(statement, rows, valuesPerRow, limits)) {
    changes += await session.changes(statement, [chunk]);
  }

  return changes;
}

/**
 * Inserts the events of one chunk that are not stored yet; returns their ids. The insert goes first; refused for an
 * id stored meanwhile (see the file's comment), the ids stored are read and the rest is inserted again, until the
 * insert passes. Each round leaves out at least one more id, or the refusal is not about these ids and is thrown.
 */
async function insertEventsOnce(
  session: SqlSession,
  table: string,
  events: readonly ChangeEntry[],
  rows: readonly string[],
): Promise<string[]> {
  let ids = events.map((e) => e.id);
  let fresh = rows;
  for (;;) {
    try {
      await session.changes(insertEvents(table), [new RowsLiteral(fresh, 3)]);

      return ids;
    } catch (error) {
      if (!isDuplicateKey(error)) {
        throw error;
      }
      const stored = new Set<string>();
      for (const chunk of splitEvery(ids, IN_LIST_MAX)) {
        for (const { id } of await session.rows<{ id: string }>(eventIds(table), [chunk])) {
          stored.add(id);
        }
      }
      if (stored.size === 0) {
        throw error;
      }
      const keep = ids.map((id) => !stored.has(id));
      ids = ids.filter((_, i) => keep[i]);
      fresh = fresh.filter((_, i) => keep[i]);
      if (ids.length === 0) {
        return ids;
      }
    }
  }
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
  type Version = { tombstone: string | number; id: string; version: string | number };
  const statement = storedVersionsOf(mariadbStateTable(collection));
  const stored = { rows: new Map<string, number>(), tombstones: new Map<string, number>() };
  // The ids go twice into each read: half the chunk size each.
  const chunks = chunkRows(ids, { valuesPerRow: 2, maxBytes: limits.chunkBytes / 2, bytesOf: quotedBytes });
  for (const chunk of chunks.flatMap((c) => splitEvery(c, IN_LIST_MAX))) {
    for (const v of await session.rows<Version>(statement, [chunk, collection.name, chunk])) {
      (Number(v.tombstone) === 1 ? stored.tombstones : stored.rows).set(v.id, Number(v.version));
    }
  }

  return stored;
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
      upserts.map((e) => {
        const at = datetimeLiteral(e.ingestedAt);

        return rowLiteral([textLiteral(e.id), integerLiteral(e.version), textLiteral(e.doc), at, at]);
      }),
      5,
      limits,
    );

    let deleted = 0;
    if (deletes.length > 0) {
      const now = datetimeLiteral(Date.now());
      const name = textLiteral(collection.name);
      await changesInChunks(
        session,
        UPSERT_TOMBSTONES,
        deletes.map((e) =>
          rowLiteral([name, textLiteral(e.id), integerLiteral(e.version), integerLiteral(entryIdMs(e.entryId)), now]),
        ),
        5,
        limits,
      );
      const older = deletes.flatMap((e) => {
        const rowVersion = stored.rows.get(e.id);

        return rowVersion !== undefined && rowVersion < e.version ? [[e.id, rowVersion]] : [];
      });
      for (const chunk of splitEvery(older, IN_LIST_MAX)) {
        deleted += await session.changes(deleteRows(table), [chunk]);
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
    const limits = await statementLimitsOfSession(session);
    const table = mariadbStateTable(collection);
    // In id order, so that two sinks inserting some of the same events wait for each other rather than deadlock.
    const sorted = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const rows = sorted.map((e) => rowLiteral([textLiteral(e.id), textLiteral(e.doc), datetimeLiteral(e.ingestedAt)]));
    const inserted: string[] = [];
    let start = 0;
    for (const chunk of rowChunks(insertEvents(table), rows, 3, limits)) {
      const chunkEvents = sorted.slice(start, start + chunk.rows.length);
      inserted.push(...(await insertEventsOnce(session, table, chunkEvents, chunk.rows)));
      start += chunk.rows.length;
    }

    return inserted;
  },

  lockDocuments,

  async pruneTombstones(dataSource: DataSource, collection: string, beforeMs: number) {
    await dataSource.query(PRUNE_TOMBSTONES, [collection, beforeMs]);
  },
};
