import { randomBytes } from 'node:crypto';
import type { PoolConnection } from 'mysql2';
import { DataSource, type QueryRunner } from 'typeorm';
import type { Collection, CollectionKind } from '@app/collections';
import { MariadbSession } from './mariadb-session';
import { mariadbMigrations } from './migrations';

/** The state tables of dialect16's shapes, as the schema helper's entities will make them. */
const STATE_COLUMNS: Readonly<Record<CollectionKind, string>> = {
  document: `id varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    version bigint NOT NULL, doc json NOT NULL, created_at datetime(6) NOT NULL, updated_at datetime(6) NOT NULL`,
  event: `id varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
    doc json NOT NULL, ingested_at datetime(6) NOT NULL`,
};

/**
 * A scratch database of its own on the test MariaDB, with Spillway's migrations run, for the int-specs of the MariaDB
 * dialect. Its state tables are made with plain DDL.
 */
export class MariadbStateTablesFixture {
  private constructor(
    readonly dataSource: DataSource,
    readonly database: string,
    /** The URL of {@link database} */
    readonly url: string,
    private readonly serverUrl: string,
  ) {}

  /** Creates the database `spillway_<prefix>_<random>` on the server at `serverUrl` and migrates it. */
  static async create(serverUrl: string, prefix: string, poolSize = 8): Promise<MariadbStateTablesFixture> {
    const database = `spillway_${prefix}_${randomBytes(4).toString('hex')}`;
    await MariadbStateTablesFixture.admin(serverUrl, `CREATE DATABASE \`${database}\``);
    const url = new URL(serverUrl);
    url.pathname = `/${database}`;
    const dataSource = new DataSource({
      type: 'mariadb',
      url: url.toString(),
      poolSize,
      migrations: mariadbMigrations,
    });
    const fixture = new MariadbStateTablesFixture(dataSource, database, url.toString(), serverUrl);
    try {
      await dataSource.initialize();
      await dataSource.runMigrations();
    } catch (error) {
      await fixture.destroy();
      throw error;
    }

    return fixture;
  }

  private static async admin(serverUrl: string, sql: string): Promise<void> {
    const admin = new DataSource({ type: 'mariadb', url: serverUrl, poolSize: 1 });
    await admin.initialize();
    try {
      await admin.query(sql);
    } finally {
      await admin.destroy();
    }
  }

  /** Creates a state table `<kind>_<random>` and returns a collection of it (in `public`, the URL's database). */
  async collection(kind: CollectionKind): Promise<Collection> {
    const table = `${kind}_${randomBytes(4).toString('hex')}`;
    await this.dataSource.query(`CREATE TABLE \`${table}\` (${STATE_COLUMNS[kind]}) ENGINE=InnoDB`);

    return {
      name: table,
      kind,
      tableSchema: 'public',
      table,
      key: 'id',
      partitions: 1,
      file: `${table}.yaml`,
      outputs: [],
    };
  }

  /**
   * Runs `work` in a transaction on a session of its own (a `Session`, by default a MariadbSession), committed when it
   * returns, rolled back when it throws.
   */
  async inTransaction<T, S extends MariadbSession = MariadbSession>(
    work: (session: S, runner: QueryRunner) => Promise<T>,
    Session?: new (connection: PoolConnection) => S,
  ): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const connection = (await runner.connect()) as PoolConnection;
      const session = Session ? new Session(connection) : (new MariadbSession(connection) as S);
      await runner.startTransaction();
      try {
        const result = await work(session, runner);
        await runner.commitTransaction();

        return result;
      } catch (error) {
        await runner.rollbackTransaction().catch(() => undefined);
        throw error;
      }
    } finally {
      await runner.release();
    }
  }

  /** Closes the data source and drops the database. */
  async destroy(): Promise<void> {
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy().catch(() => undefined);
    }
    await MariadbStateTablesFixture.admin(this.serverUrl, `DROP DATABASE IF EXISTS \`${this.database}\``);
  }
}
