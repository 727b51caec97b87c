// A whole Spillway on loopback for the fault and load tools (chaos, fuzz, soak): its own Redis and PostgreSQL in
// a folder of its own, one ingest process and N sink processes (the built apps), each of which can be killed,
// frozen, stopped and started again while the others run.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';

const require = createRequire(import.meta.url);
const servers = require('./servers.js');
const project = require('./project.js');

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const OUTPUT_LINES_KEPT = 200;

/** Mirrors libs/contracts/src/keys.ts (partition 0): the scripts run without a build of the libs. */
export function partitionKeys(collection, partition = 0) {
  const base = `spw:{${collection}.${partition}}`;
  return { stream: `${base}:stream`, deadLetters: `${base}:dlq`, epoch: `${base}:epoch`, document: (id) => `${base}:doc:${id}` };
}

export const GROUP = 'spillway';

/**
 * Calls `batch` with every key that starts with `prefix` (SCAN, a batch of keys at a time). The prefix is
 * matched literally: its glob characters (the braces of a hash tag among them) are escaped.
 * @param {import('ioredis').Redis} redis
 * @param {string} prefix
 * @param {(keys: string[]) => Promise<void>} batch
 */
export async function forEachKeyWithPrefix(redis, prefix, batch) {
  const pattern = `${prefix.replace(/[{}*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) await batch(keys);
  } while (cursor !== '0');
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds the apps when dist/ is missing or older than the sources, as `npm start` does. */
export function ensureBuilt() {
  project.ensureNodeModules(ROOT);
  project.ensureBuilt(ROOT, (message) => process.stderr.write(`spillway: ${message}\n`));
}

/** One built app (ingest or a sink) as a child process on its own port. */
export class AppProcess {
  /**
   * @param {string} name
   * @param {'ingest' | 'sink'} app
   * @param {Record<string, string>} env
   */
  constructor(name, app, env) {
    this.name = name;
    this.app = app;
    this.env = env;
    this.port = 0;
    /** @type {import('node:child_process').ChildProcess | undefined} */
    this.child = undefined;
    /** @type {string[]} last lines of output, for a report when something goes wrong */
    this.output = [];
    /** exits nobody asked for: { name, code, signal, at } */
    this.unexpectedExits = [];
    this.expectExit = false;
    /** @type {Promise<void>} */
    this.exited = Promise.resolve();
  }

  get pid() {
    return this.running ? this.child?.pid : undefined;
  }

  get running() {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  get url() {
    return `http://${HOST}:${this.port}`;
  }

  /** Spawns the app and waits until /health/live answers (ready needs Redis, which a fault may have taken). */
  async start() {
    if (this.running) return;
    if (this.port === 0) this.port = await servers.findFreePort();
    this.expectExit = false;
    // SPILLWAY_NODE_ARGS passes flags to the apps' node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them.
    const nodeArgs = process.env.SPILLWAY_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
    const child = spawn(process.execPath, [...project.APP_NODE_FLAGS, ...nodeArgs, join(ROOT, 'dist', 'apps', this.app, 'main.js')], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk) => this.keepOutput(chunk));
    }
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (!this.expectExit) this.unexpectedExits.push({ name: this.name, code, signal, at: new Date().toISOString() });
        resolve();
      }),
    );
    await this.waitFor('/health/live');
  }

  /** @param {string} chunk */
  keepOutput(chunk) {
    this.output.push(...chunk.split('\n').filter(Boolean));
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.splice(0, this.output.length - OUTPUT_LINES_KEPT);
  }

  /** @param {string} path */
  async waitFor(path, timeoutMs = READY_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited before ${path} answered:\n${this.output.slice(-20).join('\n')}`);
      try {
        const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(2000) });
        if (response.status === 200) return;
        last = `${response.status} ${(await response.text()).slice(0, 200)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(100);
    }
    throw new Error(`${this.name}: ${path} not 200 after ${timeoutMs} ms (${last})`);
  }

  waitUntilReady(timeoutMs) {
    return this.waitFor('/health/ready', timeoutMs);
  }

  /**
   * Sends a signal; SIGKILL and SIGTERM count as asked-for exits.
   * @param {NodeJS.Signals} signal
   */
  signal(signal) {
    if (!this.running) return;
    if (signal === 'SIGKILL' || signal === 'SIGTERM') this.expectExit = true;
    this.child?.kill(signal);
  }

  /** SIGKILL and wait for the exit: a crash. */
  async kill() {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (drain) and wait; SIGKILL after STOP_TIMEOUT_MS. Returns how long the drain took. */
  async terminate() {
    if (!this.running) return 0;
    const started = Date.now();
    this.signal('SIGCONT'); // a frozen process cannot handle SIGTERM
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    return Date.now() - started;
  }

  /** Resident set size from /proc, in bytes; undefined when not running. */
  rssBytes() {
    const pid = this.pid;
    if (pid === undefined) return undefined;
    try {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  async metrics() {
    return (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  }
}

/**
 * @typedef {{ name: string, kind: 'document' | 'event', schema?: object }} CollectionSpec
 * @typedef {{
 *   dir: string,
 *   replicas?: number,
 *   collections: CollectionSpec[],
 *   redisFsync?: 'always' | 'everysec',
 *   pgDurable?: boolean,
 *   sinkEnv?: Record<string, string>,
 *   ingestEnv?: Record<string, string>,
 * }} StackOptions
 */

export class Stack {
  /** @param {StackOptions} options */
  constructor(options) {
    this.options = options;
    this.dir = options.dir;
    this.collections = options.collections;
    /** @type {import('./servers.js').RedisServer | undefined} */
    this.redisServer = undefined;
    /** @type {import('./servers.js').PostgresServer | undefined} */
    this.postgresServer = undefined;
    /** @type {AppProcess | undefined} */
    this.ingest = undefined;
    /** @type {AppProcess[]} */
    this.sinks = [];
    /** every sink process ever started, for the crash check */
    this.allSinks = [];
    this.sinkCounter = 0;
    /** @type {Redis | undefined} */
    this.redis = undefined;
    /** @type {pg.Pool | undefined} */
    this.pg = undefined;
  }

  get ingestUrl() {
    return this.ingest?.url ?? '';
  }

  get redisUrl() {
    return this.redisServer?.url ?? '';
  }

  get databaseUrl() {
    return this.postgresServer?.url ?? '';
  }

  /** Redis, PostgreSQL, the collection files, ingest and the sinks; resolves when all are ready. */
  async start() {
    ensureBuilt();
    servers.ensureServerBinaries();
    mkdirSync(this.dir, { recursive: true });
    chmodSync(this.dir, 0o755); // PostgreSQL runs as user postgres and must enter it
    const collectionsDir = join(this.dir, 'collections');
    mkdirSync(collectionsDir, { recursive: true });
    for (const spec of this.collections) {
      // JSON is YAML: the loader reads it as any other collection file.
      writeFileSync(join(collectionsDir, `${spec.name}.yaml`), JSON.stringify(spec, null, 2));
    }
    [this.redisServer, this.postgresServer] = await Promise.all([
      servers.startRedis({ dir: join(this.dir, 'redis'), appendOnly: true, appendFsync: this.options.redisFsync ?? 'always' }),
      servers.startPostgres({ dir: join(this.dir, 'postgres'), durable: this.options.pgDurable ?? true }),
    ]);
    this.redis = new Redis(this.redisServer.url, { protocol: 2, maxRetriesPerRequest: null });
    this.redis.on('error', () => undefined); // Redis restarts are part of the runs; commands wait for the reconnect
    this.pg = new pg.Pool({ connectionString: this.postgresServer.url, max: 2 });
    this.pg.on('error', () => undefined); // likewise PostgreSQL restarts
    const common = { REDIS_URL: this.redisServer.url, DATABASE_URL: this.postgresServer.url, COLLECTIONS_DIR: collectionsDir };
    this.ingest = new AppProcess('ingest', 'ingest', { ...common, ...this.options.ingestEnv });
    this.sinkEnv = { ...common, ...this.options.sinkEnv };
    await this.ingest.start();
    await Promise.all(Array.from({ length: this.options.replicas ?? 2 }, () => this.addSink()));
    await Promise.all([this.ingest, ...this.sinks].map((app) => app.waitUntilReady()));
  }

  /** Starts one more sink replica (a scale-up); resolves when it serves /health/live. */
  async addSink() {
    this.sinkCounter += 1;
    const name = `sink-${this.sinkCounter}`;
    const sink = new AppProcess(name, 'sink', { ...this.sinkEnv, SINK_CONSUMER: name });
    this.sinks.push(sink);
    this.allSinks.push(sink);
    await sink.start();
    return sink;
  }

  /** SIGTERM one replica and forget it (a scale-down). */
  async removeSink(sink) {
    this.sinks = this.sinks.filter((s) => s !== sink);
    return sink.terminate();
  }

  /** Crashes Redis (SIGKILL) and starts it again on its AOF. */
  async crashRedis() {
    const server = /** @type {import('./servers.js').RedisServer} */ (this.redisServer);
    server.kill('SIGKILL');
    await /** @type {any} */ (server).exited;
  }

  /**
   * Entries of each collection stream not yet acked by the group (undelivered plus pending). Cheap by default:
   * Redis's own 'lag', bounded by the stream's length (it can stay off after an AOF reload); `exact` counts the
   * entries after the group's last delivered one instead.
   */
  async backlog({ exact = false } = {}) {
    const redis = /** @type {Redis} */ (this.redis);
    const result = {};
    for (const { name } of this.collections) {
      const stream = partitionKeys(name).stream;
      const groups = /** @type {unknown[][]} */ (await redis.xinfo('GROUPS', stream).catch(() => []));
      const group = groups.find((g) => g[g.indexOf('name') + 1] === GROUP);
      const length = await redis.xlen(stream);
      if (!group) {
        result[name] = length;
        continue;
      }
      const field = (key) => group[group.indexOf(key) + 1];
      const after = `(${String(field('last-delivered-id'))}`;
      const undelivered = exact
        ? (await redis.xrange(stream, after, '+', 'COUNT', 1_000_000)).length
        : (await redis.xrange(stream, after, '+', 'COUNT', 1)).length === 0
          ? 0
          : Math.min(field('lag') === null ? length : Number(field('lag')), length);
      result[name] = Number(field('pending')) + undelivered;
    }
    return result;
  }

  /** Polls until every collection's backlog is 0; returns the milliseconds it took. */
  async waitDrained(timeoutMs = 300_000) {
    const started = Date.now();
    let last = {};
    while (Date.now() - started < timeoutMs) {
      last = await this.backlog();
      const zero = (counts) => Object.values(counts).every((n) => n === 0);
      if (zero(last) && zero(await this.backlog({ exact: true }))) return Date.now() - started;
      await sleep(200);
    }
    throw new Error(`backlog not drained after ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /** Every app process that exited without being asked to. */
  unexpectedExits() {
    return [this.ingest, ...this.allSinks].flatMap((app) => app?.unexpectedExits ?? []);
  }

  /** Apps first (SIGTERM, they drain), then the servers, then the folder unless `keep`. */
  async stop({ keep = false } = {}) {
    await Promise.all([this.ingest, ...this.sinks].map((app) => app?.terminate()));
    this.redis?.disconnect();
    await this.pg?.end().catch(() => undefined);
    await servers.stopAll();
    if (!keep && existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
