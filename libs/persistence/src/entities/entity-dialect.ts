import type { EntitySchemaColumnOptions } from 'typeorm';
import type { ColumnType } from '@app/collections';

/** The TypeORM column options that make a column's type: its name, and length, precision, charset where they matter. */
export type ColumnTypeOptions = Pick<
  EntitySchemaColumnOptions,
  'type' | 'length' | 'precision' | 'scale' | 'charset' | 'collation'
>;

/**
 * What the entities of Spillway's tables take from the database they live in: the column types, and where a table of
 * a schema is. One per dialect: `postgresEntityDialect` (entities/column-types.ts), `mariadbEntityDialect`
 * (dialect/mariadb/column-types.ts).
 */
export interface EntityDialect {
  /** The column of each type a collection file may declare (docs/collections.md), outside a primary key. */
  readonly columnTypes: Readonly<Record<ColumnType, ColumnTypeOptions>>;
  /**
   * A `text` column in a primary key (ids, collection names, an output's text keys): one the database can index,
   * and compares byte for byte as PostgreSQL compares `text` (ids are case-sensitive).
   */
  readonly keyText: ColumnTypeOptions;
  /**
   * Where a table in `schema` (a collection file's, `public` by default) lives, as TypeORM's entity options say it:
   * a PostgreSQL schema, or a MariaDB database.
   */
  tableLocation(schema: string): { schema?: string; database?: string };
}

/** A column of a collection file's type, in or outside a primary key. */
export function columnOptions(tables: EntityDialect, type: ColumnType, isKey: boolean): ColumnTypeOptions {
  return isKey && type === 'text' ? tables.keyText : tables.columnTypes[type];
}
