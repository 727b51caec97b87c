import { accessSync, constants, existsSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { runSyncOrThrow } from './commands';

const PG_TOOLS = ['pg_ctl', 'initdb', 'postgres'];
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';
/** Debian puts mariadbd in /usr/sbin, which a non-root PATH often lacks. */
const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin'];

/** MariaDB's programs (Debian's `mariadb-server` and `mariadb-client`); MySQL's older names are accepted too. */
export interface MariadbBinaries {
  /** the server: mariadbd or mysqld */
  mariadbd: string;
  /** initialises a data folder: mariadb-install-db or mysql_install_db */
  installDb: string;
  /** the admin client (`shutdown`): mariadb-admin or mysqladmin */
  admin: string;
}

/** Where the server binaries are. */
export interface ServerBinaries {
  redisServer: string;
  /** the folder holding pg_ctl, initdb and postgres */
  pgBinDir: string;
  mariadb: MariadbBinaries;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);

    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The first executable called `name` on the PATH. */
export function which(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);

  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

/** Whether this process runs as root (PostgreSQL then runs as the `postgres` user; apt-get may install). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function hasPgTools(dir: string): boolean {
  return PG_TOOLS.every((tool) => isExecutable(join(dir, tool)));
}

/** Debian's `/usr/lib/postgresql/<version>/bin` folders, newest version first. */
function debianPgBinDirs(): string[] {
  let versions: string[];
  try {
    versions = readdirSync(DEBIAN_PG_ROOT);
  } catch {
    return [];
  }

  return versions
    .filter((version) => /^\d+(\.\d+)?$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(DEBIAN_PG_ROOT, version, 'bin'));
}

/** The folder holding `pg_ctl`, `initdb` and `postgres`: from the PATH (symlinks resolved), else Debian's newest. */
export function findPgBinDir(): string | undefined {
  const pgCtl = which('pg_ctl');
  if (pgCtl) {
    const dir = dirname(realpathSync(pgCtl));
    if (hasPgTools(dir)) return dir;
  }

  return debianPgBinDirs().find(hasPgTools);
}

export function findRedisServer(): string | undefined {
  return which('redis-server');
}

/** The first of `names` on the PATH or in the sbin folders. */
function findProgram(names: string[]): string | undefined {
  for (const name of names) {
    const found = which(name) ?? SBIN_DIRS.map((dir) => join(dir, name)).find(isExecutable);
    if (found) return found;
  }

  return undefined;
}

/** mariadbd, mariadb-install-db and mariadb-admin (or their mysql names), when all three are there. */
export function findMariadbBinaries(): MariadbBinaries | undefined {
  const mariadbd = findProgram(['mariadbd', 'mysqld']);
  const installDb = findProgram(['mariadb-install-db', 'mysql_install_db']);
  const admin = findProgram(['mariadb-admin', 'mysqladmin']);

  return mariadbd && installDb && admin ? { mariadbd, installDb, admin } : undefined;
}

let aptUpdated = false;

/**
 * `apt-get install` the Debian packages, without starting their system services (a temporary policy-rc.d that
 * forbids it): Spillway only wants the binaries and starts its own servers.
 */
function aptInstall(packages: string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) {
    writeFileSync(policy, '#!/bin/sh\n# written by spillway tools/local-stack/binaries.ts\nexit 101\n', {
      mode: 0o755,
    });
  }
  try {
    if (!aptUpdated) {
      runSyncOrThrow('apt-get', ['update'], env);
      aptUpdated = true;
    }
    runSyncOrThrow('apt-get', ['install', '-y', '--no-install-recommends', ...packages], env);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

/** Installs Debian packages with apt-get as root; otherwise throws an error saying what to install. */
function installPackages(packages: string[]): void {
  const what =
    'redis-server, the PostgreSQL server binaries (pg_ctl, initdb, postgres) and MariaDB ' +
    '(mariadbd, mariadb-install-db, mariadb-admin)';
  if (!isRoot()) {
    throw new Error(
      `Spillway needs ${what}; missing Debian package(s): ${packages.join(', ')}. ` +
        `Install with: sudo apt-get install -y ${packages.join(' ')}  (or put the binaries on the PATH, ` +
        `or set REDIS_URL and DATABASE_URL for npm start)`,
    );
  }
  if (!isExecutable('/usr/bin/apt-get')) {
    throw new Error(`Spillway needs ${what}; apt-get is not available here, install ${packages.join(', ')} yourself`);
  }
  process.stderr.write(`spillway: installing Debian package(s) ${packages.join(', ')} with apt-get (takes a minute)\n`);
  aptInstall(packages);
}

let cachedBinaries: ServerBinaries | undefined;

/**
 * Finds `redis-server`, the PostgreSQL server binaries and MariaDB's; installs the missing Debian packages
 * (`redis-server`, `postgresql`, `mariadb-server`, which brings `mariadb-client`) with apt-get when running as root,
 * else throws an error saying what to install.
 */
export function ensureServerBinaries(): ServerBinaries {
  if (cachedBinaries) return cachedBinaries;
  const missing: string[] = [];
  if (!findRedisServer()) missing.push('redis-server');
  if (!findPgBinDir()) missing.push('postgresql');
  if (!findMariadbBinaries()) missing.push('mariadb-server', 'mariadb-client');
  if (missing.length > 0) installPackages(missing);

  const redisServer = findRedisServer();
  const pgBinDir = findPgBinDir();
  const mariadb = findMariadbBinaries();
  if (!redisServer || !pgBinDir || !mariadb) {
    throw new Error(`Spillway: ${missing.join(', ')} still not found after installing; check the apt-get output`);
  }
  cachedBinaries = { redisServer, pgBinDir, mariadb };

  return cachedBinaries;
}
