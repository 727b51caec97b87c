import type { DataSource } from 'typeorm';
import { mariadbDialect } from './mariadb';
import { postgresDialect } from './postgres';
import { type DialectName, dialectNameOf, type SqlDialect } from './sql-dialect';

export * from './sql-dialect';
export { mariadbDialect, mariadbUpsertDocuments } from './mariadb';
export { postgresDialect } from './postgres';
export { PostgresSession } from './postgres/postgres-session';
// The sink's COPY of output rows and its table names, for the bench's raw ceiling of the same rows.
export { copyRowsSql as postgresCopyRowsSql, copyRowsText as postgresCopyRowsText } from './postgres/output-copy';
export { copyField as postgresCopyField } from './postgres/copy-text';
export { copyIn as postgresCopyIn } from './postgres/copy-in';
export { outputTableName as postgresOutputTable, postgresTable } from './postgres/postgres-names';
// MariaDB's names and its values of output columns, for the same ceiling there.
export { mariadbOutputTable, mariadbQuote, mariadbStateTable } from './mariadb/mariadb-names';
export { valueWriters as mariadbOutputValueWriters } from './mariadb/output-values';

const DIALECTS: Readonly<Record<DialectName, SqlDialect>> = {
  postgres: postgresDialect,
  mariadb: mariadbDialect,
};

const dialectNamed = (name: DialectName): SqlDialect => DIALECTS[name];

/** The dialect of a database URL (see {@link dialectNameOf}). */
export const sqlDialectFor = (url: string): SqlDialect => dialectNamed(dialectNameOf(url));

/** The dialect of a data source, by its TypeORM driver. */
export function sqlDialectOf(dataSource: DataSource): SqlDialect {
  const { type } = dataSource.options;

  return dialectNamed(type === 'mysql' || type === 'mariadb' ? 'mariadb' : 'postgres');
}
