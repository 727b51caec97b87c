import type { OutputRow, OutputTable } from '@app/collections';

/**
 * A statement text, and the name it is prepared under on each connection (one name per text); '' for a statement
 * planned anew for each run's values (PostgreSQL's unnamed statement), whose best plan depends on how big its tables
 * are (see {@link OutputStatements.remove}).
 */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** The statements that write one output table; each takes whole arrays, so a table costs one statement a batch. */
export interface OutputStatements {
  /** Inserts rows, or updates a stored row from a newer version only. Parameters: {@link OutputDialect.rowParameters}. */
  readonly upsert: Statement;
  /** Inserts rows whose key is not stored yet. Parameters: {@link OutputDialect.rowParameters}. */
  readonly insertOnce: Statement;
  /**
   * Removes the rows of documents that are older than a version. Parameters: {@link OutputDialect.removalParameters}.
   * Planned for each run: a plan cached while the table was small (an output table starts empty) seq-scans it for
   * good, as no ANALYZE may come during a drain to invalidate it.
   */
  readonly remove: Statement;
}

/**
 * What a database needs to write output tables: the SQL and how its parameters are laid out. One module per database
 * (postgres-output-sql.ts), the batch writer uses none of their specifics.
 */
export interface OutputDialect {
  /** The statements of one output table; built once per table and kept (call it for every batch). */
  statements(output: OutputTable): OutputStatements;
  /** The parameters of the row statements: the rows column by column, then each row's version. */
  rowParameters(output: OutputTable, rows: readonly OutputRow[], versions: readonly number[]): unknown[];
  /** The parameters of {@link OutputStatements.remove}: the owner column's values (as text) and versions. */
  removalParameters(ownerKeys: readonly string[], versions: readonly number[]): unknown[];
  /**
   * Reads, among the ids given as the one parameter (a list of texts), the rows of a document collection's state
   * table that the current transaction wrote, as `id` and `inserted` (true when the transaction created the row,
   * false when it updated it). The sink has them from spillway_write_documents_v2 instead, without this read; it
   * serves writers that call _v1 (the stand-in sink of reproject.command.int-spec.ts).
   */
  writtenStateRows(stateTable: string): Statement;
  /**
   * Run once in a transaction before its first {@link OutputStatements.remove}, without parameters: settings that
   * hold until the transaction ends, so that removals find each document's rows by index whatever the table's
   * statistics say.
   */
  readonly beforeRemovals: string;
}
