import type { DataSource, QueryRunner } from 'typeorm';
import type { DdlStatement } from './ddl-statement';
import type { StatementFacts } from './statement-verdicts';

/**
 * What a schema plan reads from a database's catalog, besides the tables TypeORM's schema builder reads itself: one
 * per dialect (dialect/postgres/schema-catalog.ts, dialect/mariadb/schema-catalog.ts), chosen by the data source's
 * `options.type` (see sqlDialectOf). Every method only reads; `createSchema` runs on a runner in SQL memory.
 */
export interface SchemaCatalog {
  /** Where a table path without a schema is: PostgreSQL's `current_schema()`, MariaDB's `DATABASE()`. */
  currentSchema(db: DataSource): Promise<string>;
  /**
   * The schema where the tables of a collection file's `schema` live, as statements and the catalog name it: the
   * same on PostgreSQL; on MariaDB a database, `public` being the current one.
   */
  locate(schema: string, currentSchema: string): string;
  /** Of these schemas (as {@link locate} names them), those that do not exist yet. */
  missingSchemas(db: DataSource, schemas: readonly string[]): Promise<string[]>;
  /** Writes the creation of a schema, as TypeORM's query runner writes it, on a runner in SQL memory. */
  createSchema(runner: QueryRunner, schema: string): Promise<void>;
  /** What the database says about what a statement would drop or change (for its verdict and its message). */
  factsOf(db: DataSource, ddl: DdlStatement, currentSchema: string): Promise<StatementFacts>;
}
