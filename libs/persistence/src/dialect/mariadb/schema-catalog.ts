import type { QueryRunner } from 'typeorm';
import { definitionType, MYSQL_PRIMARY_KEY, pathParts } from '../../schema/ddl-statement';
import type { SchemaCatalog } from '../../schema/schema-catalog';

/** information_schema's constraint types, as the schema verdicts read them (PostgreSQL's `contype` letters). */
const CONSTRAINT_TYPES: Readonly<Record<string, string>> = {
  'PRIMARY KEY': 'p',
  UNIQUE: 'u',
  CHECK: 'c',
  'FOREIGN KEY': 'f',
};

/**
 * A column type as MariaDB and MySQL compare it: without the display width of integers (`int(11)` on MariaDB,
 * `int` on MySQL 8.0.19 and later), with TypeORM's synonyms, and `json` as MariaDB stores it (a LONGTEXT).
 */
function comparableType(type: string): string {
  return type
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^(tinyint|smallint|mediumint|int|integer|bigint)\(\d+\)/, '$1')
    .replace(/^integer\b/, 'int')
    .replace(/^(?:boolean|bool)\b/, 'tinyint')
    .replace(/^json\b/, 'longtext');
}

/**
 * MariaDB's and MySQL's catalog, for schema plans: a collection file's schema is a database
 * (information_schema.SCHEMATA), `public` the connection's own; constraints, columns and indexes from
 * information_schema (TABLE_CONSTRAINTS, COLUMNS, STATISTICS), which MySQL 8.0 has as MariaDB 10.11 does.
 */
export const mariadbSchemaCatalog: SchemaCatalog = {
  async currentSchema(db) {
    const [row] = await db.query<{ current: string | null }[]>('SELECT DATABASE() AS current');
    if (!row?.current) {
      throw new Error('the database URL names no database (mysql://user:password@host:port/<database>)');
    }

    return row.current;
  },

  locate: (schema, currentSchema) => (schema === 'public' ? currentSchema : schema),

  async missingSchemas(db, schemas) {
    if (schemas.length === 0) {
      return [];
    }
    const existing = await db.query<{ name: string }[]>(
      'SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN (?)',
      [schemas],
    );

    return schemas.filter((schema) => !existing.some((row) => row.name === schema));
  },

  createSchema: (runner, schema) => runner.createDatabase(schema, true),

  async factsOf(db, ddl, currentSchema) {
    switch (ddl.kind) {
      case 'drop-constraint': {
        const { schema, name: table } = pathParts(ddl.table, currentSchema);
        const [row] = await db.query<{ type: string }[]>(
          `SELECT CONSTRAINT_TYPE AS type FROM information_schema.TABLE_CONSTRAINTS
            WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = ?`,
          [schema, table, ddl.name],
        );
        // A table without a primary key has no PRIMARY to drop: TypeORM writes DROP PRIMARY KEY only when it has one.
        const type = row?.type ?? (ddl.name === MYSQL_PRIMARY_KEY ? 'PRIMARY KEY' : undefined);

        return { constraintType: type === undefined ? undefined : (CONSTRAINT_TYPES[type] ?? type) };
      }
      case 'drop-column':
      case 'change-column': {
        const { schema, name: table } = pathParts(ddl.table, currentSchema);
        const [row] = await db.query<{ type: string; nullable: string }[]>(
          `SELECT COLUMN_TYPE AS type, IS_NULLABLE AS nullable FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
          [schema, table, ddl.column],
        );
        if (row === undefined) {
          return {};
        }
        if (ddl.kind === 'drop-column') {
          return { columnType: row.type };
        }

        return {
          columnType: row.type,
          sameType: comparableType(definitionType(ddl.definition)) === comparableType(row.type),
          columnNullable: row.nullable === 'YES',
        };
      }
      case 'drop-index': {
        if (ddl.table === undefined) {
          return {};
        }
        const { schema, name: table } = pathParts(ddl.table, currentSchema);
        const { name: index } = pathParts(ddl.index, currentSchema);
        const rows = await db.query<unknown[]>(
          `SELECT 1 FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1`,
          [schema, table, index],
        );

        return { indexTable: rows.length > 0 ? `${schema}.${table}` : undefined };
      }
      case 'create-schema':
      case 'create-table':
      case 'create-index':
      case 'add-column':
      case 'rename-column':
      case 'alter-column':
      case 'add-constraint':
      case 'other':
        return {};
    }
  },
};

/** The lock every replica takes to run migrations and DDL; GET_LOCK's names are server-wide. */
const DDL_LOCK = 'spillway:ddl';
/** How long one GET_LOCK waits; it is asked again until it is granted, as pg_advisory_lock waits. */
const DDL_LOCK_WAIT_SECONDS = 30;

/**
 * Runs `work` while holding the DDL lock on the runner's connection (a session lock: GET_LOCK, then RELEASE_LOCK;
 * a connection that dies releases it), so that one replica at a time runs migrations and DDL. The runner keeps one
 * connection until it is released, which `work` must not do. MariaDB and MySQL alike.
 */
export async function withMariadbDdlLock<T>(runner: QueryRunner, work: () => Promise<T>): Promise<T> {
  for (;;) {
    const rows = (await runner.query('SELECT GET_LOCK(?, ?) AS granted', [DDL_LOCK, DDL_LOCK_WAIT_SECONDS])) as {
      granted: number | string | null;
    }[];
    const row = rows[0];
    if (row?.granted === null || row?.granted === undefined) {
      throw new Error(`GET_LOCK('${DDL_LOCK}') failed`);
    }
    if (Number(row.granted) === 1) {
      break;
    }
  }
  try {
    return await work();
  } finally {
    await runner.query('SELECT RELEASE_LOCK(?)', [DDL_LOCK]).catch(() => undefined);
  }
}
