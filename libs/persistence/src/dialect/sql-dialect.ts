import type { DataSource, DataSourceOptions, QueryRunner } from 'typeorm';
import type { Collection, OutputTable } from '@app/collections';
import type { ChangeEntry } from '@app/contracts';
import type { EntityDialect } from '../entities/entity-dialect';
import type { OutputWrite } from '../outputs/output-writes';
import type { SchemaCatalog } from '../schema/schema-catalog';

/** The databases Spillway writes to; `DATABASE_URL`'s scheme selects one (see {@link dialectNameOf}). */
export type DialectName = 'postgres' | 'mariadb';

/** Reads the dialect from a database URL: `postgres://` or `postgresql://`, `mysql://` or `mariadb://`. */
export function dialectNameOf(url: string): DialectName {
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    return 'postgres';
  }
  if (scheme === 'mysql' || scheme === 'mariadb') {
    return 'mariadb';
  }
  throw new Error(
    `a database URL starts with postgres://, postgresql://, mysql:// or mariadb:// (got ${scheme === undefined ? 'no scheme' : `${scheme}://`})`,
  );
}

/**
 * A statement text, and the name it is prepared under on each connection (one name per text); '' for a statement
 * planned anew for each run's values. A dialect without named statements ignores the name.
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** One connection, held for a batch or a page of a command; its statements run in order, in its transaction. */
export interface SqlSession {
  /** Runs a statement with its parameters and returns its rows (none for a statement that returns none). */
  rows<T>(statement: Statement, values: readonly unknown[]): Promise<T[]>;
  /** Runs a statement with its parameters and returns how many rows it inserted, updated or deleted. */
  changes(statement: Statement, values: readonly unknown[]): Promise<number>;
}

/** What a document write did to a collection's state table. */
export interface StateWriteCounts {
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * How a database writes the state tables and `spillway_tombstones` (CONTRACT.md section 4) in a sink's batch. Every
 * method runs inside the batch's transaction, on its session.
 */
export interface StateTableWrites {
  /**
   * Writes a collection's document changes: locks their ids (as {@link lockDocuments}, in key order, so concurrent
   * writers of the same documents neither deadlock nor reorder), then upserts the puts that are newer than the stored
   * row and than the document's tombstone, records the deletes as tombstones (newer only) and deletes older rows.
   * Counts honestly: a put that changed nothing (an older or equal version) is neither inserted nor updated.
   * With `withIds`, also returns each put id it wrote, with true when it created the row (for the output tables).
   */
  writeDocuments(
    session: SqlSession,
    collection: Collection,
    changes: { puts: readonly ChangeEntry[]; deletes: readonly ChangeEntry[] },
    options: { withIds: boolean },
  ): Promise<StateWriteCounts & { rows?: Map<string, boolean> }>;
  /** Inserts events once (an id already stored is left alone); returns the ids it inserted. */
  insertEvents(session: SqlSession, collection: Collection, events: readonly ChangeEntry[]): Promise<string[]>;
  /**
   * Locks documents of a collection until the session's transaction ends, with the keys and in the order
   * {@link writeDocuments} takes them, so a command that rewrites them waits for a sink writing them, and the other way
   * round.
   */
  lockDocuments(session: SqlSession, collection: string, ids: readonly string[]): Promise<void>;
  /** Forgets a collection's tombstones of entries older than `beforeMs` (no older entry can reach them any more). */
  pruneTombstones(dataSource: DataSource, collection: string, beforeMs: number): Promise<void>;
}

/** What the ingest reads from a database for what Redis no longer holds. A missing table reads as no rows. */
export interface StateTableReads {
  /** The stored documents among `ids`: version (1 for an event) and the document's JSON text. */
  documents(
    dataSource: DataSource,
    collection: Collection,
    ids: readonly string[],
  ): Promise<Map<string, { version: number; json: string }>>;
  /** The stored versions among `ids`: the state row's (documents only) and the tombstone's; 0 when none. */
  versions(
    dataSource: DataSource,
    collection: Collection,
    ids: readonly string[],
  ): Promise<Map<string, { row: number; deleted: number }>>;
}

/**
 * How a database writes a batch's {@link OutputWrite}s, one output table after the other. `'rows-first'` is a sink's
 * batch: a newer version's rows are upserted, then the document's rows still older than its version are removed.
 * `'removals-first'` is `spillway reproject`: the rows at or below the version go first, then the rows are written.
 */
export interface OutputTableWrites {
  write(session: SqlSession, writes: readonly OutputWrite[], order: 'rows-first' | 'removals-first'): Promise<void>;
}

/** The reads and removals of `spillway reproject` besides the output writes; each on a session, in id order. */
export interface ReprojectionQueries {
  /** Up to `limit` ids of the state table after `after` ('' for the first page), in id order. */
  stateIdsAfter(session: SqlSession, collection: Collection, after: string, limit: number): Promise<string[]>;
  /** The state rows of `ids`: id, version (1 for an event) and the parsed document. */
  stateRows(
    session: SqlSession,
    collection: Collection,
    ids: readonly string[],
  ): Promise<{ id: string; version: number; doc: unknown }[]>;
  /** How many rows the state table holds. */
  countState(dataSource: DataSource, collection: Collection): Promise<number>;
  /**
   * Up to `limit` owner values (as text) of an output's rows whose document has no state row, in order, after `after`
   * (null for the first page). A document owns a row when its id is the owner value as the sink wrote it
   * (outputs/owner-keys.ts), in any spelling the column's type reads as that value ("007" for 7).
   */
  orphanOwners(
    session: SqlSession,
    output: OutputTable,
    collection: Collection,
    after: string | null,
    limit: number,
  ): Promise<string[]>;
  /** Removes the rows of these owners that still have no state row; returns how many. */
  removeOrphans(
    session: SqlSession,
    output: OutputTable,
    collection: Collection,
    owners: readonly string[],
  ): Promise<number>;
}

/** How a database's errors read: what the sink and the ingest do with a failed statement depends on it. */
export interface ErrorClasses {
  /**
   * - `content`: the data is at fault (a bad value, a constraint); retrying that entry can never succeed, so it goes
   *   to the dead-letter stream;
   * - `unavailable`: the database cannot be reached or cannot serve now; retry with backoff, answer 503;
   * - `missing-table`: a table the sink has not created yet;
   * - `other`: anything else (a bug, a permission): thrown.
   */
  classify(error: unknown): 'content' | 'unavailable' | 'missing-table' | 'other';
  /** The error as one line for a dead-letter reason: the database's code and message, saying which class it is. */
  describe(error: unknown): string;
}

/**
 * Everything that differs between the databases Spillway writes to, in one place: a dialect is a module of its own
 * under dialect/ (postgres/, mariadb/), and nothing outside them names a database.
 */
export interface SqlDialect {
  readonly name: DialectName;
  /** For messages and logs: `PostgreSQL`, `MariaDB`. */
  readonly label: string;
  /** The server's port when a URL names none (for messages). */
  readonly defaultPort: number;
  /** TypeORM's options for a data source on `url`: the driver, Spillway's migrations, pool settings. */
  dataSourceOptions(settings: { url: string; poolSize: number }): DataSourceOptions;
  /** What the entities of Spillway's tables take from this database: column types, text keys, table location. */
  readonly tables: EntityDialect;
  /** The catalog reads of a schema plan (which schemas exist, what a statement would drop). */
  readonly catalog: SchemaCatalog;
  /** A quoted identifier. */
  quote(identifier: string): string;
  /** The quoted table of a collection (its state table) or an output, safe to splice into SQL. */
  qualifiedTable(schema: string, table: string): string;
  /**
   * True when each state-table write (`state.writeDocuments`, `state.insertEvents`) is one statement that takes its
   * own locks, so that a batch holding one such write alone needs no transaction around it.
   */
  readonly writesAreSingleStatements: boolean;
  /**
   * True when a transaction writing a collection with outputs costs nearly as much for a few dozen documents as for a
   * few hundred (PostgreSQL: five round trips and a commit), so that the sink gathers the reads of a deep backlog into
   * one write (apps/sink/src/consumer/batch-gathering.ts). On MariaDB a gathered write measured no faster.
   */
  readonly gathersReadsForOutputs: boolean;
  /** The connection a query runner holds (connected by this call), as a session. */
  session(runner: QueryRunner): Promise<SqlSession>;
  /** Runs `work` while holding the lock that lets one replica at a time run migrations and DDL. */
  withDdlLock<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T>;
  readonly state: StateTableWrites;
  readonly reads: StateTableReads;
  readonly outputs: OutputTableWrites;
  readonly reprojection: ReprojectionQueries;
  readonly errors: ErrorClasses;
}
