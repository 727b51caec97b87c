'use strict';
/**
 * Local Redis and PostgreSQL servers for the tests (`test/global-setup.ts`) and `npm start`.
 *
 * Node built-ins only, loopback addresses only. Servers started here are tracked and stopped when the owning
 * process exits (`stopAll()` for a clean stop; an `exit` hook signals whatever is still running).
 */
const childProcess = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const HOST = '127.0.0.1';
const PG_TOOLS = ['pg_ctl', 'initdb', 'postgres'];
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';
const SPILLWAY_PG_CONF = 'spillway.conf';
/** Unix socket paths are limited to 107 bytes; `<dir>/.s.PGSQL.<port>` must fit. */
const MAX_SOCKET_DIR_LENGTH = 90;

/**
 * @typedef {{ redisServer: string, pgBinDir: string }} ServerBinaries
 * @typedef {'fast' | 'immediate' | 'smart'} PgStopMode
 * @typedef {{ code: number | null, stdout: string, stderr: string }} RunResult
 * @typedef {{ uid: number, gid: number }} UnixUser
 */

// ---------------------------------------------------------------------------------------------------------------
// Ports

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now.
 * @returns {Promise<number>}
 */
function findFreePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Whether `port` on 127.0.0.1 can be listened on.
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function isPortFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Binaries

/**
 * @param {string} file
 * @returns {boolean}
 */
function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The first executable called `name` on the PATH.
 * @param {string} name
 * @returns {string | undefined}
 */
function which(name) {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.map((dir) => path.join(dir, name)).find(isExecutable);
}

/**
 * @param {string} dir
 * @returns {boolean}
 */
function hasPgTools(dir) {
  return PG_TOOLS.every((tool) => isExecutable(path.join(dir, tool)));
}

/**
 * Debian's `/usr/lib/postgresql/<version>/bin` folders, newest version first.
 * @returns {string[]}
 */
function debianPgBinDirs() {
  let versions;
  try {
    versions = fs.readdirSync(DEBIAN_PG_ROOT);
  } catch {
    return [];
  }
  return versions
    .filter((version) => /^\d+(\.\d+)?$/.test(version))
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => path.join(DEBIAN_PG_ROOT, version, 'bin'));
}

/**
 * The folder holding `pg_ctl`, `initdb` and `postgres`: from the PATH (symlinks resolved), else Debian's newest.
 * @returns {string | undefined}
 */
function findPgBinDir() {
  const pgCtl = which('pg_ctl');
  if (pgCtl) {
    const dir = path.dirname(fs.realpathSync(pgCtl));
    if (hasPgTools(dir)) return dir;
  }
  return debianPgBinDirs().find(hasPgTools);
}

/** @returns {string | undefined} */
function findRedisServer() {
  return which('redis-server');
}

function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Runs a command synchronously, output captured; throws with the output's tail when it fails.
 * @param {string} command
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 */
function runSyncOrThrow(command, args, env = process.env) {
  const result = childProcess.spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    const reason = result.error ? result.error.message : `exit code ${result.status ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ')} failed (${reason})\n${output}`);
  }
}

let aptUpdated = false;

/**
 * `apt-get install` the Debian packages, without starting their system services (a temporary policy-rc.d that
 * forbids it): Spillway only wants the binaries and starts its own servers.
 * @param {string[]} packages
 */
function aptInstall(packages) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !fs.existsSync(policy);
  if (ownPolicy) {
    fs.writeFileSync(policy, '#!/bin/sh\n# written by spillway scripts/lib/servers.js\nexit 101\n', { mode: 0o755 });
  }
  try {
    if (!aptUpdated) {
      runSyncOrThrow('apt-get', ['update'], env);
      aptUpdated = true;
    }
    runSyncOrThrow('apt-get', ['install', '-y', '--no-install-recommends', ...packages], env);
  } finally {
    if (ownPolicy) fs.rmSync(policy, { force: true });
  }
}

/** @type {ServerBinaries | undefined} */
let cachedBinaries;

/**
 * Finds `redis-server` and the PostgreSQL server binaries; installs the missing Debian packages (`redis-server`,
 * `postgresql`) with apt-get when running as root, else throws an error saying what to install.
 * @returns {ServerBinaries}
 */
function ensureServerBinaries() {
  if (cachedBinaries) return cachedBinaries;
  const missing = [];
  if (!findRedisServer()) missing.push('redis-server');
  if (!findPgBinDir()) missing.push('postgresql');
  if (missing.length > 0) installPackages(missing);

  const redisServer = findRedisServer();
  const pgBinDir = findPgBinDir();
  if (!redisServer || !pgBinDir) {
    throw new Error(`Spillway: ${missing.join(' and ')} still not found after installing; check the apt-get output`);
  }
  cachedBinaries = { redisServer, pgBinDir };
  return cachedBinaries;
}

/**
 * @param {string[]} packages Debian package names
 */
function installPackages(packages) {
  const what = `redis-server and the PostgreSQL server binaries (pg_ctl, initdb, postgres)`;
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

// ---------------------------------------------------------------------------------------------------------------
// Small process helpers

/**
 * @param {number} ms
 * @returns {Promise<void>}
 */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs a command to completion with output captured.
 * @param {string} command
 * @param {string[]} args
 * @param {childProcess.SpawnOptions} [options]
 * @returns {Promise<RunResult>}
 */
function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * @param {string} command
 * @param {string[]} args
 * @param {childProcess.SpawnOptions} [options]
 * @returns {Promise<string>} stdout
 */
async function runOrThrow(command, args, options) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const output = `${result.stdout}${result.stderr}`.trim();
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed (exit code ${result.code})\n${output}`);
  }
  return result.stdout;
}

/**
 * The last lines of a log file, for error messages.
 * @param {string} file
 * @param {number} [lines]
 * @returns {string}
 */
function tail(file, lines = 20) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Whether a process runs (a zombie, exited but not yet reaped, does not).
 * @param {number} pid
 * @returns {boolean}
 */
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (/** @type {NodeJS.ErrnoException} */ (error).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/**
 * Blocks the thread (for exit and signal handlers, where nothing asynchronous runs any more).
 * @param {number} ms
 */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ---------------------------------------------------------------------------------------------------------------
// Tracking: stop what this process started

/** @type {Set<RedisServer | PostgresServer>} */
const tracked = new Set();
let exitHookInstalled = false;

/**
 * Remembers a server to stop with the owner; the `exit` hook is installed with the first one (modules that only
 * use postgresControl(), such as specs, add no listener).
 * @param {RedisServer | PostgresServer} server
 */
function track(server) {
  tracked.add(server);
  if (exitHookInstalled) return;
  // First in line: a listener that calls process.exit() again (Vitest's does) ends the process on the spot.
  process.prependListener('exit', () => stopAllSync());
  exitHookInstalled = true;
}

/**
 * Stops every server this process started, cleanly, and waits for them.
 * @returns {Promise<void>}
 */
async function stopAll() {
  const handles = [...tracked];
  tracked.clear();
  const results = await Promise.allSettled(handles.map((handle) => handle.stop()));
  const failed = results.filter((result) => result.status === 'rejected');
  if (failed.length > 0) throw /** @type {PromiseRejectedResult} */ (failed[0]).reason;
}

/**
 * Signals every tracked server to shut down and, with `waitMs`, blocks until they are gone or the time is up
 * (usable in `exit` and signal handlers).
 * @param {number} [waitMs]
 */
function stopAllSync(waitMs = 0) {
  const pids = [...tracked].map((handle) => handle.signalStop()).filter((pid) => pid !== undefined);
  tracked.clear();
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && pids.some(isAlive)) sleepSync(25);
}

/**
 * On SIGINT, SIGTERM or SIGHUP: stop the tracked servers (waiting up to 10 s), run `cleanup`, then let the signal
 * take its usual course (the other listeners, or re-raised when there are none). For owners with no shutdown logic
 * of their own, such as the test runner's main process.
 * @param {() => void} [cleanup]
 */
function stopAllOnSignals(cleanup) {
  for (const signal of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.prependOnceListener(signal, () => {
      stopAllSync(10000);
      cleanup?.();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Redis

/**
 * Sends PING over RESP and resolves true on `+PONG` (false on any error, `-LOADING` included).
 * @param {number} port
 * @param {number} [timeoutMs]
 * @returns {Promise<boolean>}
 */
function redisPing(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    let reply = '';
    /** @param {boolean} ok */
    const finish = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

/**
 * @typedef {object} RedisOptions
 * @property {string} dir data folder (AOF and the log `redis.log`); created when missing
 * @property {number} [port] default: preferredPort if free, else a free port
 * @property {number} [preferredPort] the port to use when it is free
 * @property {boolean} [appendOnly] AOF on (default false)
 * @property {'always' | 'everysec'} [appendFsync] default 'everysec'
 * @property {string} [redisServer] binary; default from the PATH (installed when missing)
 * @property {number} [startTimeoutMs] default 60000 (a large AOF takes a while to load)
 */

/** A redis-server child process; see startRedis(). */
class RedisServer {
  /**
   * @param {{ redisServer: string, dir: string, port: number, appendOnly: boolean,
   *           appendFsync: 'always' | 'everysec', startTimeoutMs: number }} settings
   */
  constructor(settings) {
    this.settings = settings;
    this.dir = settings.dir;
    this.port = settings.port;
    this.url = `redis://${HOST}:${settings.port}`;
    this.logFile = path.join(settings.dir, 'redis.log');
    this.pidFile = path.join(settings.dir, 'redis.pid');
    /** @type {childProcess.ChildProcess | undefined} */
    this.child = undefined;
    /** @type {Promise<void> | undefined} */
    this.exited = undefined;
  }

  /** @returns {number | undefined} pid of the running redis-server */
  get pid() {
    return this.running ? this.child?.pid : undefined;
  }

  /** @returns {boolean} */
  get running() {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** @returns {string[]} */
  args() {
    const { dir, port, appendOnly, appendFsync } = this.settings;
    return [
      ...['--bind', HOST, '--port', String(port), '--dir', dir, '--save', ''],
      ...['--maxmemory-policy', 'noeviction', '--appendonly', appendOnly ? 'yes' : 'no'],
      ...['--appendfsync', appendFsync, '--daemonize', 'no', '--pidfile', this.pidFile],
    ];
  }

  /**
   * Starts redis-server and waits until it answers PING. Its own process group, so that a Ctrl-C in the terminal
   * reaches only the owner, which stops the apps before Redis.
   * @returns {Promise<void>}
   */
  async start() {
    if (this.running) return;
    const log = fs.openSync(this.logFile, 'a');
    try {
      this.child = childProcess.spawn(this.settings.redisServer, this.args(), {
        stdio: ['ignore', log, log],
        detached: true,
      });
    } finally {
      fs.closeSync(log);
    }
    const child = this.child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined); // reported through 'exit' and the log
    await this.waitUntilReady(child);
  }

  /**
   * @param {childProcess.ChildProcess} child
   * @returns {Promise<void>}
   */
  async waitUntilReady(child) {
    const deadline = Date.now() + this.settings.startTimeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
        const why = child.pid === undefined ? 'could not be spawned' : `exited (${child.exitCode ?? child.signalCode})`;
        throw new Error(`redis-server on port ${this.port} ${why}; ${this.logFile}:\n${tail(this.logFile)}`);
      }
      if (await redisPing(this.port)) return;
      await sleep(50);
    }
    this.kill('SIGKILL');
    const log = `${this.logFile}:\n${tail(this.logFile)}`;
    throw new Error(`redis-server on port ${this.port} did not answer PING in time; ${log}`);
  }

  /**
   * Sends a signal to redis-server (SIGKILL to simulate a crash).
   * @param {NodeJS.Signals} [signal]
   */
  kill(signal = 'SIGKILL') {
    if (this.running) this.child?.kill(signal);
  }

  /**
   * SIGTERM (Redis flushes the AOF and exits; no RDB since `save ''`), SIGKILL after 15 s; waits for the exit.
   * @returns {Promise<void>}
   */
  async stop() {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), 15000);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * Stops and starts again on the same port and folder (AOF data is kept when appendOnly).
   * @returns {Promise<void>}
   */
  async restart() {
    await this.stop();
    await this.start();
  }

  /**
   * SIGTERM without waiting.
   * @returns {number | undefined} the pid signalled
   */
  signalStop() {
    const pid = this.pid;
    this.kill('SIGTERM');
    return pid;
  }
}

/**
 * Stops a redis-server that an earlier owner left running on this folder (its pid file says so): two servers
 * writing one AOF would corrupt it.
 * @param {string} dir
 * @returns {Promise<void>}
 */
async function stopLeftoverRedis(dir) {
  let pid;
  try {
    pid = Number(fs.readFileSync(path.join(dir, 'redis.pid'), 'utf8').trim());
    if (!(pid > 0 && isAlive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server'))) return;
  } catch {
    return;
  }
  process.stderr.write(`spillway: stopping redis-server pid ${pid}, left running on ${dir}\n`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) throw new Error(`redis-server pid ${pid} still runs on ${dir}; stop it first`);
}

/**
 * `port` when given; else `preferredPort` when it is free; else a free port.
 * @param {{ port?: number, preferredPort?: number }} options
 * @returns {Promise<number>}
 */
async function choosePort({ port, preferredPort }) {
  if (port !== undefined) return port;
  if (preferredPort !== undefined && (await isPortFree(preferredPort))) return preferredPort;

  return findFreePort();
}

/**
 * Starts redis-server on 127.0.0.1 with command-line options only, waits until it answers PING.
 * @param {RedisOptions} options
 * @returns {Promise<RedisServer>}
 */
async function startRedis(options) {
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  await stopLeftoverRedis(dir);
  const server = new RedisServer({
    redisServer: options.redisServer ?? findRedisServer() ?? ensureServerBinaries().redisServer,
    dir,
    port: await choosePort(options),
    appendOnly: options.appendOnly ?? false,
    appendFsync: options.appendFsync ?? 'everysec',
    startTimeoutMs: options.startTimeoutMs ?? 60000,
  });
  track(server);
  try {
    await server.start();
  } catch (error) {
    tracked.delete(server);
    throw error;
  }
  return server;
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL: the server refuses to run as root, so as root every server tool runs as the `postgres` user.

/**
 * uid and gid of the `postgres` user, from /etc/passwd or `id`.
 * @returns {UnixUser}
 */
function postgresUser() {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (line) {
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  }
  const id = (/** @type {string} */ flag) => childProcess.spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error('PostgreSQL cannot run as root and there is no `postgres` user (create one: useradd -r postgres)');
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Spawn options that run a PostgreSQL tool as `postgres` when we are root, from a folder it can enter.
 * @param {string} home
 * @returns {childProcess.SpawnOptions}
 */
function pgSpawnOptions(home) {
  const env = { ...process.env, LC_ALL: 'C', PGTZ: 'UTC' };
  if (!isRoot()) return { cwd: '/', env };
  const { uid, gid } = postgresUser();
  return { cwd: '/', env: { ...env, HOME: home, USER: 'postgres', LOGNAME: 'postgres' }, uid, gid };
}

/**
 * chown -R, skipping entries that already belong to the user.
 * @param {string} target
 * @param {UnixUser} user
 */
function chownRecursive(target, user) {
  const stat = fs.lstatSync(target);
  if (stat.uid !== user.uid || stat.gid !== user.gid) fs.lchownSync(target, user.uid, user.gid);
  if (!stat.isDirectory()) return;
  for (const entry of fs.readdirSync(target)) chownRecursive(path.join(target, entry), user);
}

/**
 * Whether `user` can write into and enter `dir` (tested by running `test` as that user: exact, ACLs included).
 * @param {string} dir
 * @param {UnixUser} user
 * @returns {boolean}
 */
function canUse(dir, user) {
  const result = childProcess.spawnSync('test', ['-w', dir, '-a', '-x', dir], { ...user, cwd: '/' });
  return result.status === 0;
}

/**
 * Creates the data folder and makes it the `postgres` user's. A folder that user cannot reach (under /root, say)
 * is replaced by one under os.tmpdir(), named after the requested path so that a later run finds it again.
 * @param {string} requested absolute path
 * @returns {string} the folder to use
 */
function preparePgDir(requested) {
  fs.mkdirSync(requested, { recursive: true });
  if (!isRoot()) return requested;
  const user = postgresUser();
  chownRecursive(requested, user);
  if (canUse(requested, user)) return requested;

  const hash = crypto.createHash('sha256').update(requested).digest('hex').slice(0, 10);
  const fallback = path.join(os.tmpdir(), `spillway-postgres-${hash}`);
  process.stderr.write(
    `spillway: user postgres cannot reach ${requested}; PostgreSQL data goes to ${fallback} instead\n`,
  );
  fs.mkdirSync(fallback, { recursive: true, mode: 0o700 });
  chownRecursive(fallback, user);
  return fallback;
}

/**
 * @param {string} value
 * @returns {string} a postgresql.conf string literal
 */
function confString(value) {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Writes `spillway.conf` (included from postgresql.conf): port, loopback only, sockets in the data folder, and
 * with durable false no fsync and asynchronous commits: a machine crash may lose data, and a server crash the
 * last commits of sessions that keep that default (the sink turns synchronous_commit back on for its own).
 * @param {string} dir
 * @param {{ port: number, durable: boolean }} settings
 */
function writePgSettings(dir, { port, durable }) {
  const socketDir = dir.length <= MAX_SOCKET_DIR_LENGTH ? dir : '';
  const lines = [
    '# Written by scripts/lib/servers.js at each start; edits here are overwritten.',
    `port = ${port}`,
    `listen_addresses = ${confString(HOST)}`,
    `unix_socket_directories = ${confString(socketDir)}`,
    'max_connections = 200',
    ...(durable ? [] : ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off']),
  ];
  fs.writeFileSync(path.join(dir, SPILLWAY_PG_CONF), `${lines.join('\n')}\n`);
  const mainConf = path.join(dir, 'postgresql.conf');
  const include = `include_if_exists = ${confString(SPILLWAY_PG_CONF)}`;
  if (!fs.readFileSync(mainConf, 'utf8').includes(include)) fs.appendFileSync(mainConf, `\n${include}\n`);
  if (isRoot()) chownRecursive(path.join(dir, SPILLWAY_PG_CONF), postgresUser());
}

/**
 * The port recorded in the folder's spillway.conf.
 * @param {string} dir
 * @returns {number | undefined}
 */
function readPgPort(dir) {
  try {
    const match = /^port = (\d+)$/m.exec(fs.readFileSync(path.join(dir, SPILLWAY_PG_CONF), 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @param {string} binDir
 * @param {string} dir
 * @returns {Promise<void>}
 */
async function initdb(binDir, dir) {
  const args = ['-D', dir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C'];
  await runOrThrow(path.join(binDir, 'initdb'), args, pgSpawnOptions(dir));
}

/**
 * Runs `pg_ctl -D dir ...args` as the postgres user.
 * @param {string} binDir
 * @param {string} dir
 * @param {string[]} args
 * @returns {Promise<RunResult>}
 */
function pgCtl(binDir, dir, args) {
  return run(path.join(binDir, 'pg_ctl'), ['-D', dir, ...args], pgSpawnOptions(dir));
}

/**
 * @param {string} binDir
 * @param {string} dir
 * @returns {Promise<boolean>} whether a postmaster runs on the folder
 */
async function pgIsRunning(binDir, dir) {
  return (await pgCtl(binDir, dir, ['status'])).code === 0;
}

/**
 * Stops a server that an earlier owner left running on the folder, so that this start's settings apply.
 * @param {string} binDir
 * @param {string} dir
 * @returns {Promise<void>}
 */
async function stopLeftoverPostgres(binDir, dir) {
  if (!(await pgIsRunning(binDir, dir))) return;
  process.stderr.write(`spillway: stopping the PostgreSQL server left running on ${dir}\n`);
  const result = await pgCtl(binDir, dir, ['-m', 'fast', '-w', '-t', '120', 'stop']);
  if (result.code !== 0) throw new Error(`pg_ctl stop -D ${dir} failed: ${`${result.stdout}${result.stderr}`.trim()}`);
}

/**
 * @typedef {object} PostgresOptions
 * @property {string} dir data folder; initdb runs only when it has no PG_VERSION (so it can be reused)
 * @property {number} [port] default: preferredPort if free, else a free port
 * @property {number} [preferredPort] the port to use when it is free
 * @property {string} [database] created when missing; default 'spillway'
 * @property {boolean} [durable] default true; false turns fsync off (tests)
 * @property {string} [pgBinDir] default: found on the PATH or under /usr/lib/postgresql (installed when missing)
 */

/** A PostgreSQL cluster driven with pg_ctl; see startPostgres() and postgresControl(). */
class PostgresServer {
  /**
   * @param {{ binDir: string, dir: string, port: number, database: string }} settings
   */
  constructor({ binDir, dir, port, database }) {
    this.binDir = binDir;
    this.dir = dir;
    this.port = port;
    this.database = database;
    this.url = `postgres://postgres@${HOST}:${port}/${database}`;
    this.logFile = path.join(dir, 'postgresql.log');
  }

  /**
   * @param {string[]} args
   * @returns {Promise<RunResult>}
   */
  pgCtl(args) {
    return pgCtl(this.binDir, this.dir, args);
  }

  /** @returns {Promise<boolean>} whether a postmaster runs on this folder */
  isRunning() {
    return pgIsRunning(this.binDir, this.dir);
  }

  /**
   * Starts the server (no-op when it runs) and waits until it accepts connections (crash recovery included).
   * @returns {Promise<void>}
   */
  async start() {
    if (await this.isRunning()) return;
    const result = await this.pgCtl(['-l', this.logFile, '-w', '-t', '120', 'start']);
    if (result.code !== 0) {
      const output = `${result.stdout}${result.stderr}`.trim();
      throw new Error(`pg_ctl start -D ${this.dir} failed: ${output}\n${this.logFile}:\n${tail(this.logFile)}`);
    }
  }

  /**
   * Stops the server and waits (no-op when it is not running). 'immediate' is a crash as far as PostgreSQL is
   * concerned: the next start runs recovery.
   * @param {PgStopMode} [mode]
   * @returns {Promise<void>}
   */
  async stop(mode = 'fast') {
    if (!(await this.isRunning())) return;
    const result = await this.pgCtl(['-m', mode, '-w', '-t', '120', 'stop']);
    if (result.code !== 0 && (await this.isRunning())) {
      throw new Error(`pg_ctl stop -D ${this.dir} -m ${mode} failed: ${`${result.stdout}${result.stderr}`.trim()}`);
    }
  }

  /**
   * @param {PgStopMode} [mode]
   * @returns {Promise<void>}
   */
  async restart(mode = 'fast') {
    await this.stop(mode);
    await this.start();
  }

  /**
   * Asks the postmaster for a fast shutdown (SIGINT) without waiting.
   * @returns {number | undefined} the pid signalled
   */
  signalStop() {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (!(pid > 0 && isAlive(pid))) return undefined;
      process.kill(pid, 'SIGINT');
      return pid;
    } catch {
      return undefined; // not running
    }
  }

  /**
   * Runs one SQL statement with psql as the superuser; returns its unaligned output.
   * @param {string} sql
   * @param {string} [database]
   * @returns {Promise<string>}
   */
  async psql(sql, database = 'postgres') {
    const psql = [path.join(this.binDir, 'psql'), which('psql')].find((file) => file && isExecutable(file));
    if (!psql) throw new Error(`psql not found in ${this.binDir} nor on the PATH`);
    const args = ['-h', HOST, '-p', String(this.port), '-U', 'postgres', '-d', database, '-XtAq', '-v'];
    const output = await runOrThrow(psql, [...args, 'ON_ERROR_STOP=1', '-c', sql], pgSpawnOptions(this.dir));
    return output.trim();
  }

  /** @returns {Promise<void>} */
  async createDatabaseIfMissing() {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.database)) throw new Error(`bad database name "${this.database}"`);
    const exists = await this.psql(`select 1 from pg_database where datname = '${this.database}'`);
    if (exists !== '1') await this.psql(`create database "${this.database}"`);
  }
}

/**
 * Starts PostgreSQL on 127.0.0.1 (initdb first when the folder holds no cluster) and creates the database.
 * A server left running on the folder by an earlier owner is stopped first, so that the settings apply.
 * @param {PostgresOptions} options
 * @returns {Promise<PostgresServer>}
 */
async function startPostgres(options) {
  const binDir = options.pgBinDir ?? findPgBinDir() ?? ensureServerBinaries().pgBinDir;
  const dir = preparePgDir(path.resolve(options.dir));
  if (fs.existsSync(path.join(dir, 'PG_VERSION'))) await stopLeftoverPostgres(binDir, dir);
  else await initdb(binDir, dir);
  const port = await choosePort(options);
  const server = new PostgresServer({ binDir, dir, port, database: options.database ?? 'spillway' });
  writePgSettings(dir, { port, durable: options.durable ?? true });
  track(server);
  try {
    await server.start();
    await server.createDatabaseIfMissing();
  } catch (error) {
    tracked.delete(server);
    await server.stop('immediate').catch(() => undefined);
    throw error;
  }
  return server;
}

/**
 * A stop/start handle on a cluster that startPostgres() initialised, possibly in another process (specs use it to
 * stop and restart PostgreSQL mid-run). Not tracked: the owner stops it.
 * @param {{ dir: string, port?: number, database?: string, pgBinDir?: string }} options
 * @returns {PostgresServer}
 */
function postgresControl(options) {
  const dir = path.resolve(options.dir);
  const port = options.port ?? readPgPort(dir);
  if (!port) throw new Error(`postgresControl: no port given and none recorded in ${dir}/${SPILLWAY_PG_CONF}`);
  const binDir = options.pgBinDir ?? findPgBinDir();
  if (!binDir) throw new Error('postgresControl: PostgreSQL binaries not found (run ensureServerBinaries() first)');
  return new PostgresServer({ binDir, dir, port, database: options.database ?? 'spillway' });
}

module.exports = {
  findFreePort,
  isPortFree,
  ensureServerBinaries,
  findRedisServer,
  findPgBinDir,
  redisPing,
  startRedis,
  startPostgres,
  postgresControl,
  stopAll,
  stopAllSync,
  stopAllOnSignals,
  RedisServer,
  PostgresServer,
};
