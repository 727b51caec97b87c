/** The project's own chores for the launchers: where it lives, npm, and whether the apps need building. */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository's root folder. */
export const ROOT = resolve(__dirname, '..', '..');

/** The bundles `npm run build` writes, relative to ROOT. */
export const BUILT_APPS = ['dist/apps/ingest/main.js', 'dist/apps/sink/main.js', 'dist/apps/cli/main.js'];

/**
 * Node flags every launcher gives the apps: npm start:*, tools/start, the run tools' stacks (AppProcess), the
 * Dockerfile's NODE_OPTIONS and the k8s manifests (test/k8s-manifests.spec.ts holds them to this). A V8 heap ceiling
 * well inside the pods' 512 MiB limit; it also has V8 collect old garbage sooner (a sink's RSS after a 1M-entry
 * drain: about 150 MB with it, 170 to 220 MB without, in npm run bench).
 */
export const APP_NODE_FLAGS = ['--max-old-space-size=384'];

/**
 * Node flags the sink's command line adds after {@link APP_NODE_FLAGS}: V8 refuses them in NODE_OPTIONS, so they go
 * on the command of each sink launcher (npm start:sink, AppProcess, the k8s sink Deployments; held together by
 * test/k8s-manifests.spec.ts). `--single-threaded-gc`: V8's parallel and concurrent GC threads only compete for the
 * cores with Redis, the database and the other sinks, and a sink has no request whose latency a GC pause would hold
 * up. Row-bound drains with 2 sinks (npm run bench -- --rows, two A/B pairs): the sinks' CPU a million rows 11.4-12.3
 * → 9.9-10.1 for events, 15.1-17.8 → 12.6-13.2 for documents, 7.2-8.4 → 5.7-6.8 for the typed collection.
 */
export const SINK_NODE_FLAGS = ['--single-threaded-gc'];

const SOURCE_DIRS = ['apps', 'libs'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'nest-cli.json'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'generated']);

/** Runs npm in ROOT with the output shown (the npm that runs this process when there is one); returns its exit code. */
export function runNpm(args: string[]): number {
  const npmCli = process.env.npm_execpath;
  const [command, commandArgs] =
    npmCli !== undefined && /\.[cm]?js$/.test(npmCli) ? [process.execPath, [npmCli, ...args]] : ['npm', args];
  const result = spawnSync(command, commandArgs, { cwd: ROOT, stdio: 'inherit' });
  if (result.error) throw new Error(`cannot run npm: ${result.error.message}`);

  return result.status ?? 1;
}

/** Newest modification time of the files under `target`, generated and installed folders left out. */
function newestMtime(target: string): number {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(target)) {
    if (SKIPPED_DIRS.has(entry) || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(target, entry)));
  }

  return newest;
}

/** Whether `npm run build` is needed: an app bundle is missing or older than a source file. */
export function buildIsStale(): boolean {
  const built = BUILT_APPS.map((file) => newestMtime(join(ROOT, file)));
  if (built.some((mtime) => mtime === 0)) return true;
  const sources = [...SOURCE_DIRS, ...SOURCE_FILES].map((name) => newestMtime(join(ROOT, name)));

  return Math.max(...sources) > Math.min(...built);
}

/**
 * Marks the bundles as built now. Webpack leaves a bundle whose output did not change untouched, which would
 * keep it looking older than the sources; runs after every `npm run build` (postbuild, tools/local-stack/mark-built.ts).
 */
export function markBuilt(): void {
  const now = new Date();
  for (const file of BUILT_APPS) utimesSync(join(ROOT, file), now, now);
}

/**
 * `npm run build` when buildIsStale says so: dist/ is missing or older than the sources. (node_modules is there:
 * tools/bootstrap.js installs it before any TypeScript tool runs.)
 */
export function ensureBuilt(
  say: (message: string) => void = (message) => process.stderr.write(`spillway: ${message}\n`),
): void {
  if (!buildIsStale()) return;
  say('building the apps (npm run build)');
  const code = runNpm(['run', 'build']);
  if (code !== 0) throw new Error(`npm run build failed (exit code ${code})`);
}
