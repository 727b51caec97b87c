// One handle on "the database" whatever its kind, for the tests and the tools that run against either server: start and
// stop it (cleanly or as a crash), name its databases, and read what it holds. Each kind is one entry of KINDS below.
import { createConnection, createPool, type Pool as MariadbPool, type PoolOptions } from 'mysql2/promise';
import pg from 'pg';
import { mariadbControl, type MariadbServer, startMariadb } from './mariadb';
import type { PortChoice } from './ports';
import { postgresControl, PostgresServer, startPostgres } from './postgres';

/** The database servers the local stack runs. */
export type DatabaseKind = 'postgres' | 'mariadb';

/** Every kind, PostgreSQL (the default) first. */
export const DATABASE_KINDS: readonly DatabaseKind[] = ['postgres', 'mariadb'];

/**
 * 'clean': the shutdown an operator asks for (PostgreSQL's fast shutdown, `mariadb-admin shutdown`); open transactions
 * are rolled back. 'crash': the server stops dead (PostgreSQL's immediate shutdown, SIGKILL to mariadbd) and recovers
 * from its log at the next start.
 */
export type DatabaseStopMode = 'clean' | 'crash';

/** How startDatabaseServer() runs a server (see PostgresOptions and MariadbOptions for the details of each). */
export interface DatabaseServerOptions extends PortChoice {
  /** the server's folder; initialised when it holds no data yet */
  dir: string;
  /** created when missing; default 'spillway' */
  database?: string;
  /** default true; false trades crash safety of the machine (not of the server) for speed */
  durable?: boolean;
}

/**
 * Reads a database for checks, in its own SQL. Values come back in one form for both kinds where the drivers differ:
 * bigint and decimal columns as decimal text, JSON parsed, a date as `YYYY-MM-DD`, a timestamp (timestamptz,
 * datetime(6) in UTC) as a Date. A boolean is PostgreSQL's; MariaDB has none (its `boolean` is a tinyint: 1 or 0).
 * Database restarts are shrugged off: the next query connects again.
 */
export interface DatabaseReader {
  readonly kind: DatabaseKind;
  /** Runs one statement (placeholders `$1` on PostgreSQL, `?` on MariaDB); its rows, none for a statement without. */
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Every row of a table named as a collection file names it: `schema` is the PostgreSQL schema, or on MariaDB the
   * database (`public`, the default, is the URL's). Only `columns` when given.
   */
  rows<T extends object = Record<string, unknown>>(
    table: string,
    options?: { schema?: string; columns?: readonly string[] },
  ): Promise<T[]>;
  /** A table's columns in order, with their `information_schema` data types as the server names them; none if it is missing. */
  columns(table: string, options?: { schema?: string }): Promise<{ name: string; type: string }[]>;
  /** Drops a collection file's schema other than `public` with its tables (on MariaDB the database of its name). */
  dropSchema(schema: string): Promise<void>;
  /** A quoted identifier. */
  quote(identifier: string): string;
  close(): Promise<void>;
}

/** A PostgreSQL or MariaDB server on loopback, and what a test or a tool does with it whatever its kind. */
export interface DatabaseServer {
  readonly kind: DatabaseKind;
  /** `PostgreSQL`, `MariaDB` */
  readonly label: string;
  /** the URL of its database (`postgres://…/spillway`, `mysql://…/spillway`), the apps' DATABASE_URL */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly logFile: string;
  /** Starts it (no-op when it runs) and waits until it takes queries, crash recovery included. */
  start(): Promise<void>;
  /** Stops it (default 'clean') and waits until it is down; no-op when it is not running. */
  stop(mode?: DatabaseStopMode): Promise<void>;
  isRunning(): Promise<boolean>;
  /** The URL of another database on the same server. */
  urlOf(database: string): string;
  createDatabase(name: string): Promise<void>;
  /** Drops a database: PostgreSQL closes the sessions still on it, MariaDB waits for their open transactions. */
  dropDatabase(name: string): Promise<void>;
  /** A reader on its database, or on another one; close it when done. */
  reader(database?: string): DatabaseReader;
}

/** The kind of server a database URL names: `postgres://`, `postgresql://`, `mysql://` or `mariadb://`. */
export function databaseKindOf(url: string): DatabaseKind {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (/^(mysql|mariadb):\/\//i.test(url)) return 'mariadb';
  throw new Error(`not a PostgreSQL or MariaDB URL: ${url.replace(/\/\/[^@/]*@/, '//…@')}`);
}

/** A reader on the database a URL names. */
export function openDatabaseReader(url: string): DatabaseReader {
  return KINDS[databaseKindOf(url)].reader(url);
}

function checkedDatabaseName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name "${name}"`);

  return name;
}

function checkedSchema(schema: string): string {
  if (schema === 'public') throw new Error('the public schema is not dropped');

  return checkedDatabaseName(schema);
}

function withDatabase(url: string, database: string): string {
  const changed = new URL(url);
  changed.pathname = `/${checkedDatabaseName(database)}`;

  return changed.toString();
}

const pgQuote = (identifier: string): string => `"${identifier.replace(/"/g, '""')}"`;

/** node-pg reads a date as local midnight; the text is what a check compares. */
const DATE_OID = 1082;
const pgTypesWithDateText: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === DATE_OID
      ? (text: string) => text
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

class PostgresReader implements DatabaseReader {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;

  constructor(url: string) {
    this.pool = new pg.Pool({ connectionString: url, max: 2, types: pgTypesWithDateText });
    this.pool.on('error', () => undefined); // an idle client dropped by a database restart
  }

  async query<T extends object>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, [...params])).rows;
  }

  rows<T extends object>(table: string, options: { schema?: string; columns?: readonly string[] } = {}): Promise<T[]> {
    const columns = options.columns?.map(pgQuote).join(', ') ?? '*';

    return this.query<T>(`SELECT ${columns} FROM ${pgQuote(options.schema ?? 'public')}.${pgQuote(table)}`);
  }

  columns(table: string, options: { schema?: string } = {}): Promise<{ name: string; type: string }[]> {
    return this.query(
      `SELECT column_name AS name, data_type AS type FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [options.schema ?? 'public', table],
    );
  }

  async dropSchema(schema: string): Promise<void> {
    await this.query(`DROP SCHEMA IF EXISTS ${pgQuote(checkedSchema(schema))} CASCADE`);
  }

  quote(identifier: string): string {
    return pgQuote(identifier);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

const mariadbQuote = (identifier: string): string => `\`${identifier.replace(/`/g, '``')}\``;

/** A collection file's schema on MariaDB: `public` is the URL's database, another schema a database of its name. */
const mariadbTable = (schema: string, table: string): string =>
  schema === 'public' ? mariadbQuote(table) : `${mariadbQuote(schema)}.${mariadbQuote(table)}`;

const MARIADB_READ_OPTIONS: PoolOptions = {
  connectionLimit: 2,
  supportBigNumbers: true,
  bigNumberStrings: true,
  dateStrings: ['DATE'],
  timezone: 'Z', // datetime(6) columns hold UTC
};

class MariadbReader implements DatabaseReader {
  readonly kind = 'mariadb';
  private readonly pool: MariadbPool;

  constructor(url: string) {
    this.pool = createPool({ uri: url, ...MARIADB_READ_OPTIONS });
  }

  async query<T extends object>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const [result] = await this.pool.query(sql, [...params]);

    return Array.isArray(result) ? (result as T[]) : [];
  }

  rows<T extends object>(table: string, options: { schema?: string; columns?: readonly string[] } = {}): Promise<T[]> {
    const columns = options.columns?.map(mariadbQuote).join(', ') ?? '*';

    return this.query<T>(`SELECT ${columns} FROM ${mariadbTable(options.schema ?? 'public', table)}`);
  }

  columns(table: string, options: { schema?: string } = {}): Promise<{ name: string; type: string }[]> {
    const schema = options.schema ?? 'public';

    return this.query(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type FROM information_schema.COLUMNS
       WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [schema === 'public' ? null : schema, table],
    );
  }

  async dropSchema(schema: string): Promise<void> {
    await this.query(`DROP DATABASE IF EXISTS ${mariadbQuote(checkedSchema(schema))}`);
  }

  quote(identifier: string): string {
    return mariadbQuote(identifier);
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** What both kinds of server share: the handle's fields, start, and the admin statements in each one's SQL. */
abstract class LocalDatabase<Server extends PostgresServer | MariadbServer> implements DatabaseServer {
  abstract readonly kind: DatabaseKind;
  abstract readonly label: string;

  constructor(protected readonly server: Server) {}

  get url(): string {
    return this.server.url;
  }
  get port(): number {
    return this.server.port;
  }
  get dir(): string {
    return this.server.dir;
  }
  get logFile(): string {
    return this.server.logFile;
  }

  start(): Promise<void> {
    return this.server.start();
  }

  async isRunning(): Promise<boolean> {
    return this.server.isRunning();
  }

  urlOf(database: string): string {
    return withDatabase(this.url, database);
  }

  createDatabase(name: string): Promise<void> {
    return this.admin(`CREATE DATABASE ${this.quote(checkedDatabaseName(name))}`);
  }

  dropDatabase(name: string): Promise<void> {
    return this.admin(`DROP DATABASE IF EXISTS ${this.quote(checkedDatabaseName(name))}${this.dropOptions}`);
  }

  reader(database?: string): DatabaseReader {
    return this.readerOf(database === undefined ? this.url : this.urlOf(database));
  }

  abstract stop(mode?: DatabaseStopMode): Promise<void>;
  /** A quoted identifier in the server's SQL. */
  protected abstract quote(identifier: string): string;
  /** What follows `DROP DATABASE IF EXISTS <name>`. */
  protected abstract readonly dropOptions: string;
  /** Runs one statement on a connection of its own. */
  protected abstract admin(sql: string): Promise<void>;
  protected abstract readerOf(url: string): DatabaseReader;
}

class PostgresDatabase extends LocalDatabase<PostgresServer> {
  readonly kind = 'postgres';
  readonly label = 'PostgreSQL';
  protected readonly dropOptions = ' WITH (FORCE)';

  stop(mode: DatabaseStopMode = 'clean'): Promise<void> {
    return this.server.stop(mode === 'clean' ? 'fast' : 'immediate');
  }

  protected quote(identifier: string): string {
    return pgQuote(identifier);
  }

  protected async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }

  protected readerOf(url: string): DatabaseReader {
    return new PostgresReader(url);
  }
}

class MariadbDatabase extends LocalDatabase<MariadbServer> {
  readonly kind = 'mariadb';
  readonly label = 'MariaDB';
  protected readonly dropOptions = '';

  stop(mode: DatabaseStopMode = 'clean'): Promise<void> {
    return this.server.stop(mode === 'clean' ? 'admin' : 'kill');
  }

  protected quote(identifier: string): string {
    return mariadbQuote(identifier);
  }

  protected async admin(sql: string): Promise<void> {
    const connection = await createConnection({ uri: this.url });
    try {
      await connection.query(sql);
    } finally {
      await connection.end();
    }
  }

  protected readerOf(url: string): DatabaseReader {
    return new MariadbReader(url);
  }
}

/** What each kind brings: its server's start and control, and its reader. */
const KINDS: Readonly<
  Record<
    DatabaseKind,
    {
      start(options: DatabaseServerOptions): Promise<DatabaseServer>;
      control(options: { dir: string; port?: number }): DatabaseServer;
      reader(url: string): DatabaseReader;
    }
  >
> = {
  postgres: {
    start: async (options) => new PostgresDatabase(await startPostgres(options)),
    control: (options) => new PostgresDatabase(postgresControl(options)),
    reader: (url) => new PostgresReader(url),
  },
  mariadb: {
    start: async (options) => new MariadbDatabase(await startMariadb(options)),
    control: (options) => new MariadbDatabase(mariadbControl(options)),
    reader: (url) => new MariadbReader(url),
  },
};

/**
 * Starts a server of `kind` on 127.0.0.1 (installed and initialised when missing; see startPostgres() and
 * startMariadb()). It is tracked: stopAll() and the signal handlers stop it.
 */
export function startDatabaseServer(kind: DatabaseKind, options: DatabaseServerOptions): Promise<DatabaseServer> {
  return KINDS[kind].start(options);
}

/**
 * A handle on a server of `kind` that was started on `dir`, possibly by another process (the port defaults to the one
 * recorded there). Not tracked: its owner stops it.
 */
export function databaseServerControl(kind: DatabaseKind, options: { dir: string; port?: number }): DatabaseServer {
  return KINDS[kind].control(options);
}

/** The kind-neutral handle on a server already started. */
export function databaseServerOf(server: PostgresServer | MariadbServer): DatabaseServer {
  return server instanceof PostgresServer ? new PostgresDatabase(server) : new MariadbDatabase(server);
}
