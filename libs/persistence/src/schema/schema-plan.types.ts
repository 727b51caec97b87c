/** One DDL statement of a schema plan, as TypeORM's schema builder wrote it. */
export interface SchemaStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** The table it is about (`schema.table`), when it is about one. */
  readonly table?: string;
}

/** A statement a sink will not run: it would drop, rename or retype something, and so could lose data. */
export interface RefusedStatement extends SchemaStatement {
  readonly column?: string;
  /**
   * One line naming the collection file, the table, the column when there is one, the statement and why, e.g.
   * `collection file config/collections/sessions.yaml: table public.session_facts: column amount_cents: refusing
   * "ALTER TABLE … DROP COLUMN …" (the file makes it text where the table has integer; Spillway never drops,
   * renames or retypes: change the table by hand or restore the file)`.
   */
  readonly reason: string;
}

/** What a sink would do to the database at start, found without changing anything. */
export interface SchemaPlan {
  /** Spillway's own migrations not yet run, by name; a sink runs them before the statements. */
  readonly pendingMigrations: readonly string[];
  /** Statements that only add (schemas, tables, indexes, nullable columns), in order; run in one transaction. */
  readonly allowed: readonly SchemaStatement[];
  /** Statements refused; while there is one, none of the allowed ones runs either. */
  readonly refused: readonly RefusedStatement[];
  /**
   * Drops of what no collection file describes (an index, a unique, check or foreign key constraint, a column
   * default someone added by hand): never run, the objects stay.
   */
  readonly leftAlone: readonly SchemaStatement[];
}
