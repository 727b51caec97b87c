/**
 * Typed outputs of a collection: the `transform` blocks and `relational.write` outputs of its file, in Redis Data
 * Integration's job syntax (docs/collections.md). The loader turns the file's YAML into these definitions; the
 * sink's schema provisioner makes their tables, and its batch writer fills them from {@link Projector}.
 */

/** The SQL types a column of an output may have (PostgreSQL names; other dialects map them). */
export const COLUMN_TYPES = [
  'text',
  'integer',
  'bigint',
  'numeric',
  'double',
  'boolean',
  'timestamptz',
  'date',
  'uuid',
  'jsonb',
] as const;

export type ColumnType = (typeof COLUMN_TYPES)[number];

/** A value of a column, converted from JSON, as the database driver takes it. */
export type ColumnValue = string | number | boolean | null;

/** One column of an output table. */
export interface OutputColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** Part of the table's primary key (the output's `keys`). */
  readonly isKey: boolean;
}

/** The change operations an output can be told to leave alone (RDI's `exclude_commands`). */
export type ExcludableOp = 'delete';

/** One `relational.write` output: a table and how a document's rows for it are made. */
export interface OutputTable {
  /** Where it was declared, for messages: `<file>: output[<index>]`. */
  readonly source: string;
  /** PostgreSQL schema (default `public`). */
  readonly schema: string;
  readonly table: string;
  /** Every column in the table's order: the keys first, then the mapped columns; the version column is not listed. */
  readonly columns: readonly OutputColumn[];
  /** The column that holds the document's version (`version_column`, default `spillway_version`), a bigint. */
  readonly versionColumn: string;
  /**
   * The key columns whose value is the document's id (mapped from the collection's key field): the rows of one
   * document are found by them, to replace them on a newer version and to remove them on a delete. Never empty.
   */
  readonly ownerColumns: readonly string[];
  /** True for a `foreach` output: one row per element of an array, replaced as a whole on each newer version. */
  readonly isForeach: boolean;
  /** Operations whose effect on this table is skipped (`exclude_ops`). */
  readonly excludeOps: readonly ExcludableOp[];
  /** The database the table is in: `default` (DATABASE_URL's), or a name of SPILLWAY_CONNECTIONS (`connection`). */
  readonly connection: string;
}

/** A row of an output table: a value for each of its {@link OutputTable.columns}, in that order. */
export type OutputRow = readonly ColumnValue[];

/** What one document (or event) becomes in the outputs. */
export type Projection =
  /** The rows of every output, in the order of {@link Collection.outputs}; a foreach output may have none. */
  | { readonly kind: 'rows'; readonly rows: readonly (readonly OutputRow[])[] }
  /** The `filter` blocks dropped it: it has no row in any output (as if deleted). */
  | { readonly kind: 'filtered' }
  /**
   * A value could not be converted to its column's type (or an expression failed): the entry goes to the dead-letter
   * stream with this reason, which names the collection, table, column, type and the JSON type of the value, never
   * the value itself.
   */
  | { readonly kind: 'invalid'; readonly reason: string };

/** Turns documents into output rows: the compiled transform blocks and mappings of one collection. */
export interface Projector {
  /** `doc` is the parsed document or event, with its id in the collection's key field. */
  project(doc: unknown): Projection;
  /** A projector of some of the outputs alone (by their indexes, in that order): a value only another output takes is never converted. */
  only(outputs: readonly number[]): Projector;
}
