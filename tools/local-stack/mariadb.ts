import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { ensureServerBinaries, findMariadbBinaries, isRoot, type MariadbBinaries } from './binaries';
import { run, runOrThrow, sleep, tail } from './commands';
import { choosePort, LOOPBACK_HOST, type PortChoice } from './ports';
import { isAlive, type LocalServer, track, untrack } from './processes';
import { chownRecursive, prepareServerDir, systemUser, type UnixUser } from './system-user';

// mariadbd refuses to run as root, so as root it runs as Debian's `mysql` user, which owns the folder:
//   <dir>/spillway.cnf  every server option (the only option file read), rewritten by each startMariadb()
//   <dir>/init.sql      run by the server at each start: the database and the Spillway user
//   <dir>/data/         the data folder (mariadb-install-db writes data.tmp/, renamed when complete)
//   <dir>/mariadb.log   the error log; <dir>/mariadbd.pid; <dir>/mariadb.sock

const MYSQL_USER = { userName: 'mysql', server: 'MariaDB', kind: 'mariadb' };
const SETTINGS_FILE = 'spillway.cnf';
const INIT_FILE = 'init.sql';
/** Unix socket paths are limited to 107 bytes. */
const MAX_SOCKET_PATH_LENGTH = 100;

/**
 * The account in every local MariaDB's URL. It holds ALL PRIVILEGES ON *.* WITH GRANT OPTION, as the `postgres`
 * superuser does in the PostgreSQL URL: specs create scratch databases, and chaos shuts the server down with it.
 * A production sink needs only ALL ON its own database.
 */
export const MARIADB_USER = 'spillway';
/** The local account's password (the account authenticates with mysql_native_password over TCP, as in production). */
export const MARIADB_PASSWORD = 'spillway';

/**
 * 'graceful' is SIGTERM (what systemd sends), 'admin' is `mariadb-admin shutdown` over TCP (the same shutdown, asked
 * as a client), 'kill' is SIGKILL: a crash, InnoDB recovers from its redo log at the next start.
 */
export type MariadbStopMode = 'admin' | 'graceful' | 'kill';

/** How startMariadb() runs a server. */
export interface MariadbOptions extends PortChoice {
  /** the server's folder (data in `<dir>/data`); mariadb-install-db runs only when there is no `data/` yet */
  dir: string;
  /** created when missing; default 'spillway' */
  database?: string;
  /**
   * default true: the redo log is flushed at each commit. false (tests): written at commit, flushed once a second,
   * no doublewrite buffer; a mariadbd crash loses nothing, a machine crash may lose the last second.
   */
  durable?: boolean;
  /** default: found on the PATH or in /usr/sbin (installed when missing) */
  binaries?: MariadbBinaries;
  /** default 120000 (crash recovery included) */
  startTimeoutMs?: number;
  /**
   * TLS with this certificate, key and CA (PEM, copied into the folder as tls-*), and `require-secure-transport`: the
   * server then refuses plain TCP, and this handle connects with TLS, trusting the CA.
   */
  tls?: MariadbTlsFiles;
}

/** A server's certificate, private key and the CA that signed it (PEM files). */
export interface MariadbTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** The copies of the TLS files in the server's folder; `tls-ca.pem` there means the server requires TLS. */
const TLS_COPIES = { certFile: 'tls-server.pem', keyFile: 'tls-server.key', caFile: 'tls-ca.pem' } as const;

/** How mariadbControl() finds a server that startMariadb() initialised. */
export interface MariadbControlOptions {
  dir: string;
  /** default: the port recorded in the folder's spillway.cnf */
  port?: number;
  database?: string;
  binaries?: MariadbBinaries;
}

interface MariadbSettings {
  binaries: MariadbBinaries;
  dir: string;
  port: number;
  database: string;
  startTimeoutMs: number;
}

function mysqlUser(): UnixUser {
  return systemUser(MYSQL_USER.userName, MYSQL_USER.server);
}

/** Spawn options that run a MariaDB program as `mysql` when we are root. */
function mysqlSpawnOptions(dir: string): SpawnOptions {
  const env = { ...process.env, LC_ALL: 'C', TZ: 'UTC' };
  if (!isRoot()) return { cwd: '/', env };
  const { uid, gid } = mysqlUser();

  return { cwd: '/', env: { ...env, HOME: dir, USER: 'mysql', LOGNAME: 'mysql' }, uid, gid };
}

/** Gives a file we wrote as root to the `mysql` user. */
function giveToMysql(file: string): void {
  if (isRoot()) chownRecursive(file, mysqlUser());
}

/** A path in an option file, double-quoted; refuses characters the option-file syntax would reinterpret. */
function cnfPath(path: string): string {
  if (/["\\\n]/.test(path)) throw new Error(`MariaDB option files cannot hold the path ${JSON.stringify(path)}`);

  return `"${path}"`;
}

/** `<dir>/mariadb.sock`, or a short path under os.tmpdir() when that one is too long for a Unix socket. */
function socketPath(dir: string): string {
  const inDir = join(dir, 'mariadb.sock');
  if (inDir.length <= MAX_SOCKET_PATH_LENGTH) return inDir;
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 10);

  return join(tmpdir(), `spillway-mariadb-${hash}.sock`);
}

/**
 * Writes `spillway.cnf`. The server default collation stays Debian's (utf8mb4_general_ci, case- and
 * trailing-space-insensitive) on purpose: key columns must name a case-sensitive NO PAD collation in their DDL
 * (utf8mb4_bin is PAD SPACE: 'a' = 'a ' under it), and a server like the ones users run catches a table that
 * forgets. sql_mode stays 10.11's strict default. No binary log (MariaDB's default).
 */
function writeSettings(dir: string, { port, durable, tls }: { port: number; durable: boolean; tls: boolean }): void {
  const lines = [
    '# Written by tools/local-stack/mariadb.ts at each start; edits here are overwritten.',
    '[mysqld]',
    `datadir = ${cnfPath(join(dir, 'data'))}`,
    `port = ${port}`,
    `bind-address = ${LOOPBACK_HOST}`,
    `socket = ${cnfPath(socketPath(dir))}`,
    `pid-file = ${cnfPath(join(dir, 'mariadbd.pid'))}`,
    `log-error = ${cnfPath(join(dir, 'mariadb.log'))}`,
    `init-file = ${cnfPath(join(dir, INIT_FILE))}`,
    'skip-name-resolve',
    'skip-log-bin',
    'character-set-server = utf8mb4',
    'collation-server = utf8mb4_general_ci',
    'default-time-zone = +00:00',
    'max-allowed-packet = 64M',
    'local-infile = 1',
    'max-connections = 200',
    'innodb-buffer-pool-size = 128M',
    ...(durable
      ? ['innodb-flush-log-at-trx-commit = 1', 'sync-binlog = 1']
      : ['innodb-flush-log-at-trx-commit = 2', 'sync-binlog = 0', 'innodb-doublewrite = 0']),
    ...(tls
      ? [
          `ssl-cert = ${cnfPath(join(dir, TLS_COPIES.certFile))}`,
          `ssl-key = ${cnfPath(join(dir, TLS_COPIES.keyFile))}`,
          `ssl-ca = ${cnfPath(join(dir, TLS_COPIES.caFile))}`,
          'require-secure-transport = ON',
        ]
      : []),
  ];
  const file = join(dir, SETTINGS_FILE);
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o644 }); // mariadbd ignores a world-writable option file
  giveToMysql(file);
}

/** Copies the TLS files into the folder for the `mysql` user (the key mode 0600), or removes old copies. */
function placeTlsFiles(dir: string, tls: MariadbTlsFiles | undefined): void {
  for (const kind of ['certFile', 'keyFile', 'caFile'] as const) {
    const to = join(dir, TLS_COPIES[kind]);
    if (tls === undefined) {
      rmSync(to, { force: true });
      continue;
    }
    copyFileSync(tls[kind], to);
    chmodSync(to, kind === 'keyFile' ? 0o600 : 0o644);
    giveToMysql(to);
  }
}

/** The CA of a server that requires TLS (placeTlsFiles), undefined for a plain one. */
function tlsCaFile(dir: string): string | undefined {
  const file = join(dir, TLS_COPIES.caFile);

  return existsSync(file) ? file : undefined;
}

/** Writes the SQL the server runs at each start, before it accepts connections; a failing statement stops it. */
function writeInitFile(dir: string, database: string): void {
  if (!/^[a-z_][a-z0-9_]{0,63}$/.test(database)) throw new Error(`bad database name "${database}"`);
  const account = `'${MARIADB_USER}'@'%'`;
  const statements = [
    `CREATE DATABASE IF NOT EXISTS \`${database}\`;`,
    `CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY '${MARIADB_PASSWORD}';`,
    `GRANT ALL PRIVILEGES ON *.* TO ${account} WITH GRANT OPTION;`,
  ];
  const file = join(dir, INIT_FILE);
  writeFileSync(file, `${statements.join('\n')}\n`, { mode: 0o600 });
  giveToMysql(file);
}

/** The port recorded in the folder's spillway.cnf. */
function readPort(dir: string): number | undefined {
  try {
    const match = /^port = (\d+)$/m.exec(readFileSync(join(dir, SETTINGS_FILE), 'utf8'));

    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** pid of the mariadbd running on the folder, from its pid file (a stale file or a reused pid reads as none). */
function runningPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, 'mariadbd.pid'), 'utf8').trim());
    if (!(pid > 0 && isAlive(pid))) return undefined;
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');

    return /mariadbd|mysqld/.test(command) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Initialises `<dir>/data` with mariadb-install-db, into data.tmp/ renamed when done (a failed run leaves none). */
async function installDb(binaries: MariadbBinaries, dir: string): Promise<void> {
  const staging = join(dir, 'data.tmp');
  rmSync(staging, { recursive: true, force: true });
  // --no-defaults must come first; no test database, no anonymous user; grants name IPs, not host names
  const args = ['--no-defaults', `--datadir=${staging}`, '--skip-test-db', '--skip-name-resolve'];
  await runOrThrow(binaries.installDb, args, mysqlSpawnOptions(dir));
  renameSync(staging, join(dir, 'data'));
}

/**
 * A mariadbd on a folder that startMariadb() prepared; see startMariadb() and mariadbControl(). It finds the server
 * through the pid file, so a handle in another process (a test worker) stops and starts the same server.
 */
export class MariadbServer implements LocalServer {
  readonly dir: string;
  readonly host = LOOPBACK_HOST;
  readonly port: number;
  readonly database: string;
  readonly user = MARIADB_USER;
  readonly password = MARIADB_PASSWORD;
  /** `mysql://spillway:spillway@127.0.0.1:<port>/<database>` */
  readonly url: string;
  readonly logFile: string;
  private readonly settings: MariadbSettings;

  constructor(settings: MariadbSettings) {
    this.settings = settings;
    this.dir = settings.dir;
    this.port = settings.port;
    this.database = settings.database;
    this.url = `mysql://${MARIADB_USER}:${MARIADB_PASSWORD}@${LOOPBACK_HOST}:${settings.port}/${settings.database}`;
    this.logFile = join(settings.dir, 'mariadb.log');
  }

  /** pid of the running mariadbd */
  get pid(): number | undefined {
    return runningPid(this.dir);
  }

  isRunning(): boolean {
    return this.pid !== undefined;
  }

  /**
   * Starts mariadbd (no-op when it runs) and waits until the Spillway user can connect and query, crash recovery
   * included. Its own process group, so that a Ctrl-C in the terminal reaches only the owner; not waited for by
   * this process, so that a handle in a test worker can start it and exit.
   */
  async start(): Promise<void> {
    if (this.isRunning()) return;
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      giveToMysql(this.logFile);
      const options = mysqlSpawnOptions(this.dir);
      const args = [`--defaults-file=${join(this.dir, SETTINGS_FILE)}`];
      child = spawn(this.settings.binaries.mariadbd, args, { ...options, stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    child.once('error', () => undefined); // reported through 'exit' and the log
    child.unref();
    await this.waitUntilReady(child);
  }

  private async waitUntilReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + this.settings.startTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        const why = child.pid === undefined ? 'could not be spawned' : `exited (${child.exitCode ?? child.signalCode})`;
        throw new Error(`mariadbd on port ${this.port} ${why}; ${this.logFile}:\n${tail(this.logFile)}`);
      }
      if (await this.accepts()) return;
      await sleep(50);
    }
    child.kill('SIGKILL');
    throw new Error(
      `mariadbd on port ${this.port} accepted no connection in time; ${this.logFile}:\n${tail(this.logFile)}`,
    );
  }

  /** Whether the Spillway user can connect to the database and run a query. */
  async accepts(): Promise<boolean> {
    try {
      const ca = tlsCaFile(this.dir);
      const ssl = ca === undefined ? {} : { ssl: { ca: readFileSync(ca, 'utf8') } };
      const connection = await createConnection({ uri: this.url, connectTimeout: 2000, ...ssl });
      try {
        await connection.query('SELECT 1');

        return true;
      } finally {
        await connection.end().catch(() => undefined);
      }
    } catch {
      return false;
    }
  }

  /** Stops the server (see MariadbStopMode) and waits until the process is gone; no-op when it is not running. */
  async stop(mode: MariadbStopMode = 'graceful'): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    switch (mode) {
      case 'graceful':
        process.kill(pid, 'SIGTERM');
        break;
      case 'kill':
        process.kill(pid, 'SIGKILL');
        break;
      case 'admin':
        await this.adminShutdown();
        break;
    }
    const deadline = Date.now() + 120_000;
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        throw new Error(`mariadbd pid ${pid} did not stop (${mode}) in 120 s and was killed; ${this.logFile}`);
      }
      await sleep(25);
    }
  }

  private async adminShutdown(): Promise<void> {
    const ca = tlsCaFile(this.dir);
    const args = ['--no-defaults', '-h', LOOPBACK_HOST, '-P', String(this.port), '-u', MARIADB_USER];
    if (ca !== undefined) args.push(`--ssl-ca=${ca}`);
    args.push('shutdown');
    // the password through the environment, not the command line that `ps` shows
    const env = { ...process.env, MYSQL_PWD: MARIADB_PASSWORD };
    const result = await run(this.settings.binaries.admin, args, { env });
    if (result.code !== 0 && this.isRunning()) {
      throw new Error(
        `mariadb-admin shutdown on port ${this.port} failed: ${`${result.stdout}${result.stderr}`.trim()}`,
      );
    }
  }

  async restart(mode: MariadbStopMode = 'graceful'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** SIGTERM without waiting; returns the pid signalled. */
  signalStop(): number | undefined {
    const pid = this.pid;
    if (pid !== undefined) process.kill(pid, 'SIGTERM');

    return pid;
  }
}

/** Stops a mariadbd that an earlier owner left running on the folder, so that this start's settings apply. */
async function stopLeftoverMariadb(server: MariadbServer): Promise<void> {
  const pid = server.pid;
  if (pid === undefined) return;
  process.stderr.write(`spillway: stopping mariadbd pid ${pid}, left running on ${server.dir}\n`);
  await server.stop('graceful');
}

/**
 * Starts MariaDB on 127.0.0.1 (mariadb-install-db first when the folder holds no data folder), with the database
 * and the Spillway user (MARIADB_USER, MARIADB_PASSWORD) created. A server left running on the folder by an earlier
 * owner is stopped first, so that the settings apply.
 */
export async function startMariadb(options: MariadbOptions): Promise<MariadbServer> {
  const binaries = options.binaries ?? findMariadbBinaries() ?? ensureServerBinaries().mariadb;
  const dir = prepareServerDir(resolve(options.dir), MYSQL_USER);
  const database = options.database ?? 'spillway';
  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const leftoverPort = readPort(dir);
  if (leftoverPort !== undefined) {
    await stopLeftoverMariadb(new MariadbServer({ binaries, dir, port: leftoverPort, database, startTimeoutMs }));
  }
  if (!existsSync(join(dir, 'data'))) await installDb(binaries, dir);
  const port = await choosePort(options);
  placeTlsFiles(dir, options.tls);
  writeSettings(dir, { port, durable: options.durable ?? true, tls: options.tls !== undefined });
  writeInitFile(dir, database);
  const server = new MariadbServer({ binaries, dir, port, database, startTimeoutMs });
  track(server);
  try {
    await server.start();
  } catch (error) {
    untrack(server);
    await server.stop('kill').catch(() => undefined);
    throw error;
  }

  return server;
}

/**
 * A stop/start handle on a server that startMariadb() initialised, possibly in another process (specs use it to
 * stop and restart MariaDB mid-run). Not tracked: the owner stops it.
 */
export function mariadbControl(options: MariadbControlOptions): MariadbServer {
  const dir = resolve(options.dir);
  const port = options.port ?? readPort(dir);
  if (!port) throw new Error(`mariadbControl: no port given and none recorded in ${dir}/${SETTINGS_FILE}`);
  const binaries = options.binaries ?? findMariadbBinaries();
  if (!binaries) throw new Error('mariadbControl: MariaDB binaries not found (run ensureServerBinaries() first)');

  return new MariadbServer({ binaries, dir, port, database: options.database ?? 'spillway', startTimeoutMs: 120_000 });
}
