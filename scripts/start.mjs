#!/usr/bin/env node
/**
 * `npm start`: the whole of Spillway on this machine, from a fresh clone.
 *
 * Installs what is missing (npm packages; Redis and PostgreSQL as Debian packages unless REDIS_URL and
 * DATABASE_URL are given), builds the apps when dist/ is missing or older than the sources, starts Redis (AOF,
 * fsync every second) and PostgreSQL on loopback with their data under .data/, then ingest and SINK_REPLICAS
 * (default 2) sinks, and prints the URLs. Ctrl-C stops the apps first (they drain), then the servers.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { APP_NODE_FLAGS, ensureBuilt, ensureNodeModules } = require('./lib/project.js');
const servers = require('./lib/servers.js');

/** @typedef {import('node:child_process').ChildProcess} ChildProcess */
/** @typedef {{ name: string, port: number, child: ChildProcess }} App */

const root = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 120_000;
const APP_STOP_TIMEOUT_MS = 15_000;
const FORCE_AFTER_MS = 2_000;
const COLORS = [36, 33, 35, 32, 34, 31];

/** @type {App[]} */
const apps = [];
/** @type {number | undefined} */
let stoppingSince;

/**
 * @param {string} message
 */
function say(message) {
  process.stdout.write(`${prefix('spillway', 0)}${message}\n`);
}

/**
 * @param {string} name
 * @param {number} index
 * @returns {string}
 */
function prefix(name, index) {
  const label = `${name.padEnd(8)} | `;
  return process.stdout.isTTY ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m` : label;
}

/**
 * @param {string} name
 * @returns {string | undefined} the variable's value, unless empty
 */
function env(name) {
  return process.env[name] || undefined;
}

/**
 * @param {string} name
 * @param {number} fallback
 * @param {number} min
 * @param {number} max
 * @returns {number}
 */
function intFromEnv(name, fallback, min, max) {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }

  return value;
}

/**
 * `preferred` when nothing listens on it and no app of ours takes it, else a free port.
 * @param {number} preferred
 * @returns {Promise<number>}
 */
async function pickPort(preferred) {
  const taken = new Set(apps.map((app) => app.port));
  if (!taken.has(preferred) && (await servers.isPortFree(preferred))) return preferred;
  for (;;) {
    const port = await servers.findFreePort();
    if (!taken.has(port)) return port;
  }
}

/**
 * Redis and PostgreSQL: the ones REDIS_URL and DATABASE_URL name, or local ones with data under .data/.
 * @returns {Promise<{ redisUrl: string, databaseUrl: string, notes: string[] }>}
 */
async function startServers() {
  const givenRedisUrl = env('REDIS_URL');
  const givenDatabaseUrl = env('DATABASE_URL');
  if (!givenRedisUrl || !givenDatabaseUrl) servers.ensureServerBinaries();
  const [redis, postgres] = await Promise.all([
    givenRedisUrl
      ? undefined
      : servers.startRedis({
          dir: join(root, '.data/redis'),
          preferredPort: 6379,
          appendOnly: true,
          appendFsync: 'everysec',
        }),
    givenDatabaseUrl ? undefined : servers.startPostgres({ dir: join(root, '.data/postgres'), preferredPort: 5432 }),
  ]);
  /** @param {string} dir */
  const shown = (dir) => (dir.startsWith(root) ? relative(root, dir) : dir);
  const notes = [
    redis
      ? `Redis       ${redis.url}  (data ${shown(redis.dir)}, log redis.log there)`
      : `Redis       ${givenRedisUrl}`,
    postgres
      ? `PostgreSQL  ${postgres.url}  (data ${shown(postgres.dir)}, log postgresql.log there)`
      : `PostgreSQL  ${givenDatabaseUrl}`,
  ];

  return {
    redisUrl: redis?.url ?? /** @type {string} */ (givenRedisUrl),
    databaseUrl: postgres?.url ?? /** @type {string} */ (givenDatabaseUrl),
    notes,
  };
}

/**
 * Starts a built app in its own process group (so a Ctrl-C reaches only this script, which stops the apps in
 * order), its output prefixed with its name.
 * @param {string} name
 * @param {string} main
 * @param {number} port
 * @param {NodeJS.ProcessEnv} appEnv
 * @returns {App}
 */
function startApp(name, main, port, appEnv) {
  const child = spawn(process.execPath, [...APP_NODE_FLAGS, join(root, main)], {
    cwd: root,
    env: { ...process.env, ...appEnv, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const app = { name, port, child };
  apps.push(app);
  const label = prefix(name, apps.length);
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${label}${line}\n`));
  }
  child.once('error', (error) => say(`${name} could not start: ${error.message}`));
  child.once('exit', (code, signal) => {
    if (stoppingSince !== undefined) return;
    say(`${name} exited unexpectedly (${signal ?? `exit code ${code}`}); stopping everything`);
    void shutdown(1);
  });

  return app;
}

/**
 * @param {ChildProcess} child
 * @returns {boolean}
 */
function isRunning(child) {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

/**
 * @param {number} ms
 * @returns {Promise<void>}
 */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls GET /health/ready until it answers 200.
 * @param {App} app
 * @returns {Promise<void>}
 */
async function waitUntilReady(app) {
  const url = `http://${HOST}:${app.port}/health/ready`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!isRunning(app.child)) throw new Error(`${app.name} exited before it was ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return;
      last = `${response.status} ${(await response.text()).slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await sleep(250);
  }
  throw new Error(`${app.name} not ready after ${READY_TIMEOUT_MS / 1000} s (${url}: ${last})`);
}

/**
 * An example write for the banner: a document collection from COLLECTIONS_DIR with its required fields.
 * @returns {{ collection: string, body: string }}
 */
function exampleWrite() {
  const dir = join(root, env('COLLECTIONS_DIR') ?? 'config/collections');
  try {
    for (const file of readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).sort()) {
      const text = readFileSync(join(dir, file), 'utf8');
      const name = /^name:\s*([a-z][a-z0-9_]*)/m.exec(text)?.[1];
      if (!name || !/^kind:\s*document\b/m.test(text)) continue;
      const required = /^ {2}required:\s*\[([^\]]*)\]/m.exec(text)?.[1] ?? '';
      const fields = required.split(',').map((field) => field.trim()).filter(Boolean);

      return { collection: name, body: JSON.stringify(Object.fromEntries(fields.map((field) => [field, 'demo']))) };
    }
  } catch {
    // no collections folder: fall through to a placeholder
  }

  return { collection: '<collection>', body: '{"hello":"world"}' };
}

/**
 * @param {string[]} serverNotes
 */
function printBanner(serverNotes) {
  const ingest = `http://${HOST}:${apps[0].port}`;
  const { collection, body } = exampleWrite();
  const lines = [
    '',
    `Spillway is running. Ingest API: ${ingest}/v1`,
    '',
    `  curl -i -X PUT ${ingest}/v1/${collection}/demo-1 -H 'Content-Type: application/json' -d '${body}'`,
    `  curl -i ${ingest}/v1/${collection}/demo-1`,
    '',
    ...apps.map(
      ({ name, port }) =>
        `  ${name.padEnd(10)}metrics http://${HOST}:${port}/metrics   health http://${HOST}:${port}/health/ready`,
    ),
    '',
    ...serverNotes.map((note) => `  ${note}`),
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * SIGTERM, then SIGKILL after APP_STOP_TIMEOUT_MS; resolves once the app has exited.
 * @param {App} app
 * @returns {Promise<void>}
 */
async function stopApp({ name, child }) {
  if (!isRunning(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    say(`${name} still running after ${APP_STOP_TIMEOUT_MS / 1000} s: SIGKILL`);
    child.kill('SIGKILL');
  }, APP_STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Apps first (sinks commit and ack the batch in hand, which needs Redis and PostgreSQL), then the servers.
 * @param {number} exitCode
 * @returns {Promise<never>}
 */
async function shutdown(exitCode) {
  if (stoppingSince !== undefined) return new Promise(() => undefined);
  stoppingSince = Date.now();
  say('stopping the apps');
  await Promise.all(apps.map(stopApp));
  say('stopping Redis and PostgreSQL');
  try {
    await servers.stopAll();
  } catch (error) {
    say(`could not stop the servers cleanly: ${error instanceof Error ? error.message : error}`);
    exitCode ||= 1;
  }
  say('stopped');
  process.exit(exitCode);
}

/**
 * Ctrl-C: a clean stop. npm forwards the terminal's signal a second time, so only a repeat some seconds later
 * forces: apps killed, servers signalled, exit.
 * @param {NodeJS.Signals} signal
 */
function onSignal(signal) {
  if (stoppingSince === undefined) {
    say(`${signal}: stopping (Ctrl-C again to force)`);
    void shutdown(0);
  } else if (Date.now() - stoppingSince > FORCE_AFTER_MS) {
    say('forced stop');
    for (const { child } of apps) if (isRunning(child)) child.kill('SIGKILL');
    servers.stopAllSync();
    process.exit(1);
  }
}

async function main() {
  for (const signal of /** @type {NodeJS.Signals[]} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) process.on(signal, onSignal);
  process.on('exit', () => apps.forEach(({ child }) => isRunning(child) && child.kill('SIGTERM')));

  const ingestPort = intFromEnv('PORT', 3000, 1, 65535);
  const replicas = intFromEnv('SINK_REPLICAS', 2, 0, 64);
  ensureNodeModules(root);
  ensureBuilt(root, say);

  const { redisUrl, databaseUrl, notes } = await startServers();
  const appEnv = { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl };
  startApp('ingest', 'dist/apps/ingest/main.js', await pickPort(ingestPort), appEnv);
  for (let i = 1; i <= replicas; i += 1) {
    startApp(`sink-${i}`, 'dist/apps/sink/main.js', await pickPort(ingestPort + i), appEnv);
  }
  await Promise.all(apps.map(waitUntilReady));
  printBanner(notes);
}

main().catch((error) => {
  say(`cannot start: ${error instanceof Error ? error.message : error}`);
  void shutdown(1);
});
