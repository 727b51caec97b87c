import { randomUUID } from 'node:crypto';
import { type Connection, createConnection } from 'mysql2/promise';
import { DataSource, type QueryRunner } from 'typeorm';
import type { Collection, ColumnType, OutputTable } from '@app/collections';
import type { SqlSession, Statement } from '../sql-dialect';
import { mariadbOutputTable, mariadbQuote as quote, mariadbStateTable } from './mariadb-names';
import { MariadbSession } from './mariadb-session';

/**
 * Output and state tables for the MariaDB int-specs of this folder, made with plain DDL in the column types of
 * column-types.ts (MARIADB_COLUMN_TYPES, MARIADB_KEY_TEXT), in a scratch database of their own.
 */

const KEY_TEXT = 'varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin';

const COLUMN_DDL: Readonly<Record<ColumnType, string>> = {
  text: 'longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
  integer: 'int',
  bigint: 'bigint',
  numeric: 'decimal(65,30)',
  double: 'double',
  boolean: 'boolean',
  timestamptz: 'datetime(6)',
  date: 'date',
  uuid: 'char(36) CHARACTER SET ascii COLLATE ascii_bin',
  jsonb: 'json',
};

/** `name: type` of a column, a `*` after the name for a key column: `{ 'id*': 'text', n: 'integer' }`. */
export type ColumnsSpec = Readonly<Record<string, ColumnType>>;

/** An output table of `schema` (a database) with the columns given; the owner is the first key column by default. */
export function outputTable(
  schema: string,
  table: string,
  columns: ColumnsSpec,
  options: { owner?: string; isForeach?: boolean; excludeDelete?: boolean } = {},
): OutputTable {
  const parsed = Object.entries(columns).map(([name, type]) => ({
    name: name.replace(/\*$/, ''),
    type,
    isKey: name.endsWith('*'),
  }));

  return {
    source: `test: ${table}`,
    schema,
    table,
    columns: parsed,
    versionColumn: 'spillway_version',
    ownerColumns: [options.owner ?? parsed.find((c) => c.isKey)?.name ?? 'id'],
    isForeach: options.isForeach ?? false,
    excludeOps: options.excludeDelete === true ? ['delete'] : [],
    connection: 'default',
  };
}

/** A collection of `schema` whose state table is `table`, with these outputs. */
export function collectionOf(
  schema: string,
  table: string,
  kind: Collection['kind'],
  outputs: readonly OutputTable[],
): Collection {
  return { name: table, kind, tableSchema: schema, table, key: 'id', partitions: 1, file: `${table}.yaml`, outputs };
}

function createOutputTableSql(output: OutputTable): string {
  const columns = output.columns.map((c) => {
    const type = c.isKey && c.type === 'text' ? KEY_TEXT : COLUMN_DDL[c.type];

    return `${quote(c.name)} ${type}${c.isKey ? ' NOT NULL' : ''}`;
  });
  columns.push(`${quote(output.versionColumn)} bigint NOT NULL`);
  const keys = output.columns.filter((c) => c.isKey).map((c) => quote(c.name));

  return `CREATE TABLE ${mariadbOutputTable(output)} (${columns.join(', ')}, PRIMARY KEY (${keys.join(', ')}))`;
}

function createStateTableSql(collection: Collection): string {
  const columns =
    collection.kind === 'document'
      ? 'version bigint NOT NULL, doc json NOT NULL, created_at datetime(6) NOT NULL, updated_at datetime(6) NOT NULL'
      : 'doc json NOT NULL, ingested_at datetime(6) NOT NULL';

  return `CREATE TABLE ${mariadbStateTable(collection)} (id ${KEY_TEXT} NOT NULL, ${columns}, PRIMARY KEY (id))`;
}

/** A session that counts its statements, for the chunking specs. */
export class CountingSession implements SqlSession {
  readonly statements: string[] = [];

  constructor(private readonly inner: SqlSession) {}

  rows<T>(statement: Statement, values: readonly unknown[]): Promise<T[]> {
    this.statements.push(statement.text);

    return this.inner.rows<T>(statement, values);
  }

  changes(statement: Statement, values: readonly unknown[]): Promise<number> {
    this.statements.push(statement.text);

    return this.inner.changes(statement, values);
  }
}

/**
 * A scratch database on the test MariaDB: a TypeORM data source (sessions come from its query runners, as the sink's
 * do) and a plain mysql2 connection that reads dates, big numbers and JSON back as text.
 */
export class ScratchDatabase {
  readonly name = `spillway_out_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  private readonly runners: QueryRunner[] = [];

  private constructor(
    readonly dataSource: DataSource,
    readonly reader: Connection,
  ) {}

  static async create(url: string): Promise<ScratchDatabase> {
    const dataSource = new DataSource({ type: 'mariadb', url });
    await dataSource.initialize();
    const reader = await createConnection({
      uri: url,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
      timezone: 'Z',
    });
    const db = new ScratchDatabase(dataSource, reader);
    await reader.query(`CREATE DATABASE ${quote(db.name)}`);

    return db;
  }

  async createTables(outputs: readonly OutputTable[], collections: readonly Collection[] = []): Promise<void> {
    for (const output of outputs) {
      await this.reader.query(createOutputTableSql(output));
    }
    for (const collection of collections) {
      await this.reader.query(createStateTableSql(collection));
    }
  }

  /**
   * A session on a pooled connection of the data source, with time_zone '+00:00' as the sink's; its connection goes
   * back to the pool at {@link close}.
   */
  async session(): Promise<MariadbSession> {
    const runner = this.dataSource.createQueryRunner();
    this.runners.push(runner);

    return this.sessionOf(runner);
  }

  /** Runs `work` in a transaction of a session of its own, committed when it returns. */
  async transaction<T>(work: (session: MariadbSession) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const session = await this.sessionOf(runner);
      await session.changes({ name: '', text: 'START TRANSACTION' }, []);
      try {
        const result = await work(session);
        await session.changes({ name: '', text: 'COMMIT' }, []);

        return result;
      } catch (error) {
        await session.changes({ name: '', text: 'ROLLBACK' }, []).catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  private async sessionOf(runner: QueryRunner): Promise<MariadbSession> {
    const session = await MariadbSession.of(runner);
    await session.changes({ name: '', text: "SET time_zone = '+00:00'" }, []);

    return session;
  }

  /** The rows of an output table, ordered by its columns, as plain objects. */
  async rowsOf(output: OutputTable): Promise<Record<string, unknown>[]> {
    const order = output.columns.filter((c) => c.isKey).map((c) => quote(c.name));
    const [rows] = await this.reader.query(`SELECT * FROM ${mariadbOutputTable(output)} ORDER BY ${order.join(', ')}`);

    return (rows as Record<string, unknown>[]).map((row) => ({ ...row }));
  }

  async close(): Promise<void> {
    for (const runner of this.runners.splice(0)) {
      await runner.release().catch(() => undefined);
    }
    await this.reader.query(`DROP DATABASE IF EXISTS ${quote(this.name)}`).catch(() => undefined);
    await this.reader.end().catch(() => undefined);
    await this.dataSource.destroy().catch(() => undefined);
  }
}
