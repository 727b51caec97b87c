import type { SqlDialect } from '../sql-dialect';
import { mariadbEntityDialect } from './column-types';
import { mariadbErrorClasses } from './error-classes';
import { mariadbQualified, mariadbQuote } from './mariadb-names';
import { MariadbSession } from './mariadb-session';
import { mariadbTls } from './mariadb-tls';
import { mariadbMigrations } from './migrations';
import { mariadbOutputWrites } from './output-table-writes';
import { mariadbReprojectionQueries } from './reprojection-queries';
import { mariadbSchemaCatalog, withMariadbDdlLock } from './schema-catalog';
import { mariadbStateReads } from './state-table-reads';
import { mariadbStateWrites } from './state-table-writes';

export { upsertDocuments as mariadbUpsertDocuments } from './state-table-writes';

/**
 * MariaDB and MySQL (TypeORM's `mariadb` driver on mysql2): multi-row `INSERT … ON DUPLICATE KEY UPDATE` with each
 * column guarded on the old version, lock-slot rows taken in key order, statements chunked to the server's limits.
 */
export const mariadbDialect: SqlDialect = {
  name: 'mariadb',
  label: 'MariaDB',
  defaultPort: 3306,
  dataSourceOptions: ({ url, poolSize }) => ({
    type: 'mariadb',
    url,
    ...mariadbTls(url),
    migrations: mariadbMigrations,
    poolSize,
    charset: 'utf8mb4',
    // Timestamps travel as UTC text, and come back as UTC.
    timezone: 'Z',
    connectTimeout: 3000,
    // bigint columns (versions, stream milliseconds) come back exact, as text, as pg returns them.
    supportBigNumbers: true,
    bigNumberStrings: true,
  }),
  tables: mariadbEntityDialect,
  catalog: mariadbSchemaCatalog,
  quote: mariadbQuote,
  qualifiedTable: mariadbQualified,
  // A write locks, reads the stored versions, then writes: several statements, in the batch's transaction.
  writesAreSingleStatements: false,
  gathersReadsForOutputs: false,
  session: (runner) => MariadbSession.of(runner),
  withDdlLock: withMariadbDdlLock,
  state: mariadbStateWrites,
  reads: mariadbStateReads,
  outputs: mariadbOutputWrites,
  reprojection: mariadbReprojectionQueries,
  errors: mariadbErrorClasses,
};
