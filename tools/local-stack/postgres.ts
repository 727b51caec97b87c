import { type SpawnOptions } from 'node:child_process';
import { appendFileSync, chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureServerBinaries, findPgBinDir, isExecutable, isRoot, which } from './binaries';
import { run, type RunResult, runOrThrow, tail } from './commands';
import { choosePort, LOOPBACK_HOST, type PortChoice } from './ports';
import { isAlive, type LocalServer, track, untrack } from './processes';
import { chownRecursive, prepareServerDir, systemUser, type UnixUser } from './system-user';

// PostgreSQL refuses to run as root, so as root every server tool runs as the `postgres` user.

const SPILLWAY_PG_CONF = 'spillway.conf';
/** Unix socket paths are limited to 107 bytes; `<dir>/.s.PGSQL.<port>` must fit. */
const MAX_SOCKET_DIR_LENGTH = 90;

/** 'immediate' is a crash as far as PostgreSQL is concerned: the next start runs recovery. */
export type PgStopMode = 'fast' | 'immediate' | 'smart';

/** How startPostgres() runs a cluster. */
export interface PostgresOptions extends PortChoice {
  /** data folder; initdb runs only when it has no PG_VERSION (so it can be reused) */
  dir: string;
  /** created when missing; default 'spillway' */
  database?: string;
  /** default true; false turns fsync off (tests) */
  durable?: boolean;
  /** default: found on the PATH or under /usr/lib/postgresql (installed when missing) */
  pgBinDir?: string;
  /** TLS (`ssl = on`) with this certificate and key (PEM, copied into the folder); plain TCP is still accepted */
  tls?: ServerTlsFiles;
}

/** A server's certificate and private key (PEM files). */
export interface ServerTlsFiles {
  certFile: string;
  keyFile: string;
}

/** The copies of the TLS files in the data folder (the server wants its key owned by itself, mode 0600). */
const PG_TLS_CERT = 'spillway-server.crt';
const PG_TLS_KEY = 'spillway-server.key';

/** How postgresControl() finds a cluster that startPostgres() initialised. */
export interface PostgresControlOptions {
  dir: string;
  /** default: the port recorded in the folder's spillway.conf */
  port?: number;
  database?: string;
  pgBinDir?: string;
}

const POSTGRES_USER = { userName: 'postgres', server: 'PostgreSQL', kind: 'postgres' };

function postgresUser(): UnixUser {
  return systemUser(POSTGRES_USER.userName, POSTGRES_USER.server);
}

/** Spawn options that run a PostgreSQL tool as `postgres` when we are root, from a folder it can enter. */
function pgSpawnOptions(home: string): SpawnOptions {
  const env = { ...process.env, LC_ALL: 'C', PGTZ: 'UTC' };
  if (!isRoot()) return { cwd: '/', env };
  const { uid, gid } = postgresUser();

  return { cwd: '/', env: { ...env, HOME: home, USER: 'postgres', LOGNAME: 'postgres' }, uid, gid };
}

/** A postgresql.conf string literal. */
function confString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Writes `spillway.conf` (included from postgresql.conf): port, loopback only, sockets in the data folder (unless
 * its path is too long for a socket), TLS when asked for, and with durable false no fsync and asynchronous commits: a machine crash may
 * lose data, and a server crash the last commits of sessions that keep that default (the sink turns
 * synchronous_commit back on for its own).
 */
function writePgSettings(dir: string, { port, durable, tls }: { port: number; durable: boolean; tls: boolean }): void {
  const socketDir = dir.length <= MAX_SOCKET_DIR_LENGTH ? dir : '';
  const lines = [
    '# Written by tools/local-stack/postgres.ts at each start; edits here are overwritten.',
    `port = ${port}`,
    `listen_addresses = ${confString(LOOPBACK_HOST)}`,
    `unix_socket_directories = ${confString(socketDir)}`,
    'max_connections = 200',
    ...(durable ? [] : ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off']),
    ...(tls
      ? ['ssl = on', `ssl_cert_file = ${confString(PG_TLS_CERT)}`, `ssl_key_file = ${confString(PG_TLS_KEY)}`]
      : []),
  ];
  writeFileSync(join(dir, SPILLWAY_PG_CONF), `${lines.join('\n')}\n`);
  const mainConf = join(dir, 'postgresql.conf');
  const include = `include_if_exists = ${confString(SPILLWAY_PG_CONF)}`;
  if (!readFileSync(mainConf, 'utf8').includes(include)) appendFileSync(mainConf, `\n${include}\n`);
  if (isRoot()) chownRecursive(join(dir, SPILLWAY_PG_CONF), postgresUser());
}

/** Copies the server's certificate and key into the data folder, for `ssl = on`. */
function copyPgTlsFiles(dir: string, tls: ServerTlsFiles): void {
  for (const [from, name] of [
    [tls.certFile, PG_TLS_CERT],
    [tls.keyFile, PG_TLS_KEY],
  ] as const) {
    const to = join(dir, name);
    copyFileSync(from, to);
    chmodSync(to, 0o600);
    if (isRoot()) chownRecursive(to, postgresUser());
  }
}

/** The port recorded in the folder's spillway.conf. */
function readPgPort(dir: string): number | undefined {
  try {
    const match = /^port = (\d+)$/m.exec(readFileSync(join(dir, SPILLWAY_PG_CONF), 'utf8'));

    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function initdb(binDir: string, dir: string): Promise<void> {
  const args = ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'];
  await runOrThrow(join(binDir, 'initdb'), args, pgSpawnOptions(dir));
}

/** Runs `pg_ctl -D dir ...args` as the postgres user. */
function pgCtl(binDir: string, dir: string, args: string[]): Promise<RunResult> {
  return run(join(binDir, 'pg_ctl'), ['-D', dir, ...args], pgSpawnOptions(dir));
}

/** Whether a postmaster runs on the folder. */
async function pgIsRunning(binDir: string, dir: string): Promise<boolean> {
  return (await pgCtl(binDir, dir, ['status'])).code === 0;
}

/** Stops a server that an earlier owner left running on the folder, so that this start's settings apply. */
async function stopLeftoverPostgres(binDir: string, dir: string): Promise<void> {
  if (!(await pgIsRunning(binDir, dir))) return;
  process.stderr.write(`spillway: stopping the PostgreSQL server left running on ${dir}\n`);
  const result = await pgCtl(binDir, dir, ['-m', 'fast', '-w', '-t', '120', 'stop']);
  if (result.code !== 0) throw new Error(`pg_ctl stop -D ${dir} failed: ${`${result.stdout}${result.stderr}`.trim()}`);
}

/** A PostgreSQL cluster driven with pg_ctl; see startPostgres() and postgresControl(). */
export class PostgresServer implements LocalServer {
  readonly binDir: string;
  /** the folder in use (may be a fallback under os.tmpdir()) */
  readonly dir: string;
  readonly port: number;
  readonly database: string;
  readonly url: string;
  readonly logFile: string;

  constructor({ binDir, dir, port, database }: { binDir: string; dir: string; port: number; database: string }) {
    this.binDir = binDir;
    this.dir = dir;
    this.port = port;
    this.database = database;
    this.url = `postgres://postgres@${LOOPBACK_HOST}:${port}/${database}`;
    this.logFile = join(dir, 'postgresql.log');
  }

  private pgCtl(args: string[]): Promise<RunResult> {
    return pgCtl(this.binDir, this.dir, args);
  }

  /** Whether a postmaster runs on this folder. */
  isRunning(): Promise<boolean> {
    return pgIsRunning(this.binDir, this.dir);
  }

  /** Starts the server (no-op when it runs) and waits until it accepts connections (crash recovery included). */
  async start(): Promise<void> {
    if (await this.isRunning()) return;
    const result = await this.pgCtl(['-l', this.logFile, '-w', '-t', '120', 'start']);
    if (result.code !== 0) {
      const output = `${result.stdout}${result.stderr}`.trim();
      throw new Error(`pg_ctl start -D ${this.dir} failed: ${output}\n${this.logFile}:\n${tail(this.logFile)}`);
    }
  }

  /** Stops the server and waits (no-op when it is not running). */
  async stop(mode: PgStopMode = 'fast'): Promise<void> {
    if (!(await this.isRunning())) return;
    const result = await this.pgCtl(['-m', mode, '-w', '-t', '120', 'stop']);
    if (result.code !== 0 && (await this.isRunning())) {
      throw new Error(`pg_ctl stop -D ${this.dir} -m ${mode} failed: ${`${result.stdout}${result.stderr}`.trim()}`);
    }
  }

  async restart(mode: PgStopMode = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Asks the postmaster for a fast shutdown (SIGINT) without waiting; returns the pid signalled. */
  signalStop(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (!(pid > 0 && isAlive(pid))) return undefined;
      process.kill(pid, 'SIGINT');

      return pid;
    } catch {
      return undefined; // not running
    }
  }

  /** Runs one SQL statement with psql as the superuser; returns its unaligned, tuples-only output. */
  async psql(sql: string, database = 'postgres'): Promise<string> {
    const psql = [join(this.binDir, 'psql'), which('psql')].find((file) => file !== undefined && isExecutable(file));
    if (!psql) throw new Error(`psql not found in ${this.binDir} nor on the PATH`);
    const args = ['-h', LOOPBACK_HOST, '-p', String(this.port), '-U', 'postgres', '-d', database, '-XtAq', '-v'];
    const output = await runOrThrow(psql, [...args, 'ON_ERROR_STOP=1', '-c', sql], pgSpawnOptions(this.dir));

    return output.trim();
  }

  async createDatabaseIfMissing(): Promise<void> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.database)) throw new Error(`bad database name "${this.database}"`);
    const exists = await this.psql(`select 1 from pg_database where datname = '${this.database}'`);
    if (exists !== '1') await this.psql(`create database "${this.database}"`);
  }
}

/**
 * Starts PostgreSQL on 127.0.0.1 (initdb first when the folder holds no cluster) and creates the database.
 * A server left running on the folder by an earlier owner is stopped first, so that the settings apply.
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresServer> {
  const binDir = options.pgBinDir ?? findPgBinDir() ?? ensureServerBinaries().pgBinDir;
  const dir = prepareServerDir(resolve(options.dir), POSTGRES_USER);
  if (existsSync(join(dir, 'PG_VERSION'))) await stopLeftoverPostgres(binDir, dir);
  else await initdb(binDir, dir);
  const port = await choosePort(options);
  const server = new PostgresServer({ binDir, dir, port, database: options.database ?? 'spillway' });
  if (options.tls) copyPgTlsFiles(dir, options.tls);
  writePgSettings(dir, { port, durable: options.durable ?? true, tls: options.tls !== undefined });
  track(server);
  try {
    await server.start();
    await server.createDatabaseIfMissing();
  } catch (error) {
    untrack(server);
    await server.stop('immediate').catch(() => undefined);
    throw error;
  }

  return server;
}

/**
 * A stop/start handle on a cluster that startPostgres() initialised, possibly in another process (specs use it to
 * stop and restart PostgreSQL mid-run). Not tracked: the owner stops it.
 */
export function postgresControl(options: PostgresControlOptions): PostgresServer {
  const dir = resolve(options.dir);
  const port = options.port ?? readPgPort(dir);
  if (!port) throw new Error(`postgresControl: no port given and none recorded in ${dir}/${SPILLWAY_PG_CONF}`);
  const binDir = options.pgBinDir ?? findPgBinDir();
  if (!binDir) throw new Error('postgresControl: PostgreSQL binaries not found (run ensureServerBinaries() first)');

  return new PostgresServer({ binDir, dir, port, database: options.database ?? 'spillway' });
}
