/**
 * `npm start`: the whole of Spillway on this machine, from a fresh clone (tools/bootstrap.js installs the npm
 * packages first). `npm start -- --help` says what it does; `--db mariadb` runs MariaDB instead of PostgreSQL.
 *
 * Installs Redis, PostgreSQL and MariaDB as Debian packages when missing (unless REDIS_URL and DATABASE_URL are
 * given), builds the apps when dist/ is missing or older than the sources, starts Redis (AOF, fsync every second) and
 * the database on loopback with their data under .data/, then ingest (PORT, default 3000) and SINK_REPLICAS
 * (default 2) sinks, and prints the URLs. Ctrl-C stops the apps first (they drain), then the servers.
 */
import { basename, join, relative } from 'node:path';
import {
  AppProcess,
  type AppName,
  ensureBuilt,
  ensureServerBinaries,
  findFreePort,
  isPortFree,
  ROOT,
  type DatabaseKind,
  databaseKindOf,
  startDatabaseServer,
  startRedis,
  stopAll,
  stopAllSync,
} from '../local-stack';
import { printBanner } from './banner';
import { env, intFromEnv, prefix, say } from './console';
import { parseStartOptions, USAGE } from './options';

const READY_TIMEOUT_MS = 120_000;
const APP_STOP_TIMEOUT_MS = 15_000;
const FORCE_AFTER_MS = 2_000;

const apps: AppProcess[] = [];
let stoppingSince: number | undefined;

/** `preferred` when nothing listens on it and no app of ours takes it, else a free port. */
async function pickPort(preferred: number): Promise<number> {
  const taken = new Set(apps.map((app) => app.port));
  if (!taken.has(preferred) && (await isPortFree(preferred))) return preferred;
  for (;;) {
    const port = await findFreePort();
    if (!taken.has(port)) return port;
  }
}

const DATABASE_LABELS: Record<DatabaseKind, string> = { postgres: 'PostgreSQL', mariadb: 'MariaDB' };
const DATABASE_PORTS: Record<DatabaseKind, number> = { postgres: 5432, mariadb: 3306 };

/** Redis and the database: the ones REDIS_URL and DATABASE_URL name, or local ones with data under .data/. */
async function startServers(db: DatabaseKind): Promise<{ redisUrl: string; databaseUrl: string; notes: string[] }> {
  const givenRedisUrl = env('REDIS_URL');
  const givenDatabaseUrl = env('DATABASE_URL');
  if (!givenRedisUrl || !givenDatabaseUrl) ensureServerBinaries();
  const [redis, database] = await Promise.all([
    givenRedisUrl
      ? undefined
      : startRedis({ dir: join(ROOT, '.data/redis'), preferredPort: 6379, appendOnly: true, appendFsync: 'everysec' }),
    givenDatabaseUrl
      ? undefined
      : startDatabaseServer(db, { dir: join(ROOT, '.data', db), preferredPort: DATABASE_PORTS[db] }),
  ]);
  const shown = (dir: string) => (dir.startsWith(ROOT) ? relative(ROOT, dir) : dir);
  const label = DATABASE_LABELS[db].padEnd(11);
  const notes = [
    redis
      ? `Redis       ${redis.url}  (data ${shown(redis.dir)}, log redis.log there)`
      : `Redis       ${givenRedisUrl}`,
    database
      ? `${label} ${database.url}  (data ${shown(database.dir)}, log ${basename(database.logFile)} there)`
      : `${label} ${givenDatabaseUrl}`,
  ];

  return { redisUrl: redis?.url ?? givenRedisUrl ?? '', databaseUrl: database?.url ?? givenDatabaseUrl ?? '', notes };
}

/**
 * A built app in its own process group (so a Ctrl-C reaches only this process, which stops the apps in order), its
 * output prefixed with its name. Its port is picked now, so that the next app's pick leaves it alone.
 */
async function addApp(name: string, app: AppName, preferredPort: number, appEnv: Record<string, string>) {
  const label = prefix(name, apps.length + 1);
  const appProcess = new AppProcess(name, app, appEnv, {
    port: await pickPort(preferredPort),
    detached: true,
    onOutputLine: (line) => process.stdout.write(`${label}${line}\n`),
  });
  apps.push(appProcess);
}

/** Starts the app, waits until /health/ready answers, and stops everything should it exit on its own later. */
async function startApp(app: AppProcess): Promise<void> {
  await app.start();
  void app.waitForExit().then(({ code, signal }) => {
    if (stoppingSince !== undefined) return;
    say(`${app.name} exited unexpectedly (${signal ?? `exit code ${code}`}); stopping everything`);
    void shutdown(1);
  });
  await app.waitUntilReady(READY_TIMEOUT_MS);
}

/** SIGTERM, then SIGKILL after APP_STOP_TIMEOUT_MS; resolves once the app has exited. */
async function stopApp(app: AppProcess): Promise<void> {
  if (!app.running) return;
  await app.terminate(APP_STOP_TIMEOUT_MS);
  if ((await app.waitForExit()).signal === 'SIGKILL') {
    say(`${app.name} still running after ${APP_STOP_TIMEOUT_MS / 1000} s: SIGKILL`);
  }
}

/** Apps first (sinks commit and ack the batch in hand, which needs Redis and the database), then the servers. */
async function shutdown(exitCode: number): Promise<never> {
  if (stoppingSince !== undefined) return new Promise<never>(() => undefined);
  stoppingSince = Date.now();
  say('stopping the apps');
  await Promise.all(apps.map(stopApp));
  say('stopping the servers');
  try {
    await stopAll();
  } catch (error) {
    say(`could not stop the servers cleanly: ${error instanceof Error ? error.message : String(error)}`);
    exitCode ||= 1;
  }
  say('stopped');
  process.exit(exitCode);
}

/**
 * Ctrl-C: a clean stop. npm forwards the terminal's signal a second time, so only a repeat some seconds later
 * forces: apps killed, servers signalled, exit.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (stoppingSince === undefined) {
    say(`${signal}: stopping (Ctrl-C again to force)`);
    void shutdown(0);
  } else if (Date.now() - stoppingSince > FORCE_AFTER_MS) {
    say('forced stop');
    for (const app of apps) app.signal('SIGKILL');
    stopAllSync();
    process.exit(1);
  }
}

/** The database to run: --db, or the one DATABASE_URL names; they must agree. */
function chosenDatabase(): DatabaseKind | undefined {
  const options = parseStartOptions(process.argv.slice(2));
  if (!options) return undefined;
  const givenUrl = env('DATABASE_URL');
  if (!givenUrl) return options.db;
  const named = databaseKindOf(givenUrl);
  if (options.dbGiven && named !== options.db) {
    throw new Error(`--db ${options.db} disagrees with DATABASE_URL, which names ${DATABASE_LABELS[named]}`);
  }

  return named;
}

async function main(): Promise<void> {
  let db: DatabaseKind | undefined;
  try {
    db = chosenDatabase();
  } catch (error) {
    process.stderr.write(
      `npm start: ${error instanceof Error ? error.message : String(error)} (npm start -- --help)\n`,
    );
    process.exit(2);
  }
  if (!db) {
    process.stdout.write(USAGE);

    return;
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  process.on('exit', () => apps.forEach((app) => app.signal('SIGTERM')));

  const ingestPort = intFromEnv('PORT', 3000, 1, 65535);
  const replicas = intFromEnv('SINK_REPLICAS', 2, 0, 64);
  ensureBuilt(say);

  const { redisUrl, databaseUrl, notes } = await startServers(db);
  const appEnv = { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl };
  await addApp('ingest', 'ingest', ingestPort, appEnv);
  for (let i = 1; i <= replicas; i += 1) await addApp(`sink-${i}`, 'sink', ingestPort + i, appEnv);
  await Promise.all(apps.map(startApp));
  printBanner(apps, notes);
}

main().catch((error: unknown) => {
  say(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
  void shutdown(1);
});
