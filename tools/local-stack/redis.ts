import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { ensureServerBinaries, findRedisServer } from './binaries';
import { sleep, tail } from './commands';
import { choosePort, LOOPBACK_HOST, type PortChoice } from './ports';
import { isAlive, type LocalServer, track, untrack } from './processes';

export type RedisFsync = 'always' | 'everysec';

/** How startRedis() runs redis-server. */
export interface RedisOptions extends PortChoice {
  /** data folder (AOF and the log `redis.log`); created when missing */
  dir: string;
  /** AOF on (default false) */
  appendOnly?: boolean;
  /** default 'everysec' */
  appendFsync?: RedisFsync;
  /** binary; default from the PATH (installed when missing) */
  redisServer?: string;
  /** default 60000 (a large AOF takes a while to load) */
  startTimeoutMs?: number;
  /** more redis-server options, after the ones above (cluster mode, say: see redis-cluster.ts) */
  extraArgs?: readonly string[];
  /** a config file redis-server reads before the options (a Sentinel needs one it can rewrite: redis-sentinel.ts) */
  configFile?: string;
}

interface RedisSettings {
  redisServer: string;
  dir: string;
  port: number;
  appendOnly: boolean;
  appendFsync: RedisFsync;
  startTimeoutMs: number;
  extraArgs: readonly string[];
  configFile?: string;
}

/**
 * Sends PING over RESP and resolves true on `+PONG`, or on `-NOAUTH` from a server that has a password (it is up and
 * answering); false on any other reply or error, `-LOADING` included.
 */
export function redisPing(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK_HOST, port });
    let reply = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

/** A redis-server child process; see startRedis(). */
export class RedisServer implements LocalServer {
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly logFile: string;
  /** written by redis-server; a leftover server on the same folder is stopped before start */
  readonly pidFile: string;
  private child?: ChildProcess;
  private exitedPromise: Promise<void> = Promise.resolve();

  constructor(private readonly settings: RedisSettings) {
    this.dir = settings.dir;
    this.port = settings.port;
    this.url = `redis://${LOOPBACK_HOST}:${settings.port}`;
    this.logFile = join(settings.dir, 'redis.log');
    this.pidFile = join(settings.dir, 'redis.pid');
  }

  /** pid of the running redis-server */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Resolves when the current redis-server process has exited. */
  get exited(): Promise<void> {
    return this.exitedPromise;
  }

  get running(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  private args(): string[] {
    const { dir, port, appendOnly, appendFsync } = this.settings;

    return [
      ...(this.settings.configFile === undefined ? [] : [this.settings.configFile]),
      ...['--bind', LOOPBACK_HOST, '--port', String(port), '--dir', dir, '--save', ''],
      ...['--maxmemory-policy', 'noeviction', '--appendonly', appendOnly ? 'yes' : 'no'],
      ...['--appendfsync', appendFsync, '--daemonize', 'no', '--pidfile', this.pidFile],
      ...this.settings.extraArgs,
    ];
  }

  /**
   * Starts redis-server and waits until it answers PING. Its own process group, so that a Ctrl-C in the terminal
   * reaches only the owner, which stops the apps before Redis.
   */
  async start(): Promise<void> {
    if (this.running) return;
    const log = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.settings.redisServer, this.args(), { stdio: ['ignore', log, log], detached: true });
    } finally {
      closeSync(log);
    }
    this.child = child;
    this.exitedPromise = new Promise((resolve) => child.once('exit', () => resolve()));
    child.once('error', () => undefined); // reported through 'exit' and the log
    await this.waitUntilReady(child);
  }

  private async waitUntilReady(child: ChildProcess): Promise<void> {
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

  /** Sends a signal to redis-server (the default SIGKILL simulates a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child?.kill(signal);
  }

  /** SIGTERM (Redis flushes the AOF and exits; no RDB since `save ''`), SIGKILL after 15 s; waits for the exit. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stops and starts again on the same port and folder (AOF data is kept when appendOnly). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** SIGTERM without waiting; returns the pid signalled. */
  signalStop(): number | undefined {
    const pid = this.pid;
    this.kill('SIGTERM');

    return pid;
  }
}

/**
 * Stops a redis-server that an earlier owner left running on this folder (its pid file says so): two servers
 * writing one AOF would corrupt it.
 */
async function stopLeftoverRedis(dir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, 'redis.pid'), 'utf8').trim());
    if (!(pid > 0 && isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server'))) return;
  } catch {
    return;
  }
  process.stderr.write(`spillway: stopping redis-server pid ${pid}, left running on ${dir}\n`);
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) throw new Error(`redis-server pid ${pid} still runs on ${dir}; stop it first`);
}

/** Starts redis-server on 127.0.0.1 with command-line options only, waits until it answers PING. */
export async function startRedis(options: RedisOptions): Promise<RedisServer> {
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  await stopLeftoverRedis(dir);
  const server = new RedisServer({
    redisServer: options.redisServer ?? findRedisServer() ?? ensureServerBinaries().redisServer,
    dir,
    port: await choosePort(options),
    appendOnly: options.appendOnly ?? false,
    appendFsync: options.appendFsync ?? 'everysec',
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    extraArgs: options.extraArgs ?? [],
    ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
  });
  track(server);
  try {
    await server.start();
  } catch (error) {
    untrack(server);
    throw error;
  }

  return server;
}
