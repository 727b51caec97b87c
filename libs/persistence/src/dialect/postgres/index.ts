import { escapeIdentifier } from 'pg';
import { postgresEntityDialect } from '../../entities/column-types';
import type { SqlDialect } from '../sql-dialect';
import { postgresErrorClasses } from './error-classes';
import { CreateTombstones1763800000000 } from './migrations/1763800000000-create-tombstones';
import { CreateWriteDocumentsFunction1763900000000 } from './migrations/1763900000000-create-write-documents-function';
import { IndexTombstonesByStreamMsAlone1764000000000 } from './migrations/1764000000000-index-tombstones-by-stream-ms-alone';
import { CreateWriteDocumentsV2Function1764100000000 } from './migrations/1764100000000-create-write-documents-v2-function';
import { CreateWriteDocumentsV3Function1764200000000 } from './migrations/1764200000000-create-write-documents-v3-function';
import { postgresOutputWrites } from './output-table-writes';
import { postgresQualified } from './postgres-names';
import { PostgresSession } from './postgres-session';
import { postgresConnection } from './postgres-tls';
import { postgresSchemaCatalog } from './schema-catalog';
import { postgresReprojectionQueries } from './reprojection-queries';
import { postgresStateReads } from './state-table-reads';
import { postgresStateWrites } from './state-table-writes';

/** One key for every replica, so only one at a time runs migrations and DDL. */
const DDL_LOCK_KEY = 7_263_001;

/** PostgreSQL: the write functions of its migrations, unnest statements, advisory locks. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  label: 'PostgreSQL',
  defaultPort: 5432,
  dataSourceOptions: ({ url, poolSize }) => ({
    type: 'postgres',
    ...postgresConnection(url),
    migrations: [
      CreateTombstones1763800000000,
      CreateWriteDocumentsFunction1763900000000,
      IndexTombstonesByStreamMsAlone1764000000000,
      CreateWriteDocumentsV2Function1764100000000,
      CreateWriteDocumentsV3Function1764200000000,
    ],
    poolSize,
    extra: {
      connectionTimeoutMillis: 3000,
      application_name: 'spillway',
      // The sink acks stream entries once their transaction commits, so a commit must survive a server crash
      // even where the server's default is synchronous_commit = off.
      options: '-c synchronous_commit=on',
    },
  }),
  tables: postgresEntityDialect,
  catalog: postgresSchemaCatalog,
  quote: escapeIdentifier,
  qualifiedTable: postgresQualified,
  writesAreSingleStatements: true,
  gathersReadsForOutputs: true,
  session: (runner) => PostgresSession.of(runner),
  async withDdlLock(runner, work) {
    await runner.query('SELECT pg_advisory_lock($1)', [DDL_LOCK_KEY]);
    try {
      return await work();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [DDL_LOCK_KEY]).catch(() => undefined);
    }
  },
  state: postgresStateWrites,
  reads: postgresStateReads,
  outputs: postgresOutputWrites,
  reprojection: postgresReprojectionQueries,
  errors: postgresErrorClasses,
};
