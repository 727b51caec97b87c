'use strict';
/** Fresh-clone chores shared by scripts/test.mjs and scripts/start.mjs: npm packages and the build. */
const childProcess = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const BUILT_APPS = ['dist/apps/ingest/main.js', 'dist/apps/sink/main.js'];
/**
 * Node flags every launcher gives the apps: npm start:*, scripts/start.mjs, the run tools' stacks, the Dockerfile's
 * NODE_OPTIONS and the k8s manifests (test/k8s-manifests.spec.ts holds them to this). A V8 heap ceiling well inside
 * the pods' 512 MiB limit; it also has V8 collect old garbage sooner (a sink's RSS after a 1M-entry drain: about
 * 150 MB with it, 170 to 220 MB without, in npm run bench).
 */
const APP_NODE_FLAGS = ['--max-old-space-size=384'];
const SOURCE_DIRS = ['apps', 'libs'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'nest-cli.json'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'generated']);

/**
 * Runs npm with the output shown; the npm that runs this script when there is one.
 * @param {string} root
 * @param {string[]} args
 * @returns {number} exit code
 */
function runNpm(root, args) {
  const npmCli = process.env.npm_execpath;
  const viaNode = npmCli !== undefined && /\.[cm]?js$/.test(npmCli);
  const [command, commandArgs] = viaNode ? [process.execPath, [npmCli, ...args]] : ['npm', args];
  const result = childProcess.spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
  if (result.error) throw new Error(`cannot run npm: ${result.error.message}`);

  return result.status ?? 1;
}

/**
 * `npm install` (which keeps to package-lock.json) when node_modules is missing. Not `npm ci`: npm 11 refuses
 * this lockfile for lacking other platforms' optional @swc/core binaries, though it installs from it fine.
 * @param {string} root
 */
function ensureNodeModules(root) {
  if (fs.existsSync(path.join(root, 'node_modules'))) return;
  const args = ['install', '--no-audit', '--no-fund'];
  process.stderr.write(`spillway: node_modules is missing, running npm ${args[0]}\n`);
  const code = runNpm(root, args);
  if (code !== 0) throw new Error(`npm ${args[0]} failed (exit code ${code})`);
}

/**
 * Newest modification time of the files under `target`, generated and installed folders left out.
 * @param {string} target
 * @returns {number}
 */
function newestMtime(target) {
  let stat;
  try {
    stat = fs.statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of fs.readdirSync(target)) {
    if (SKIPPED_DIRS.has(entry) || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(path.join(target, entry)));
  }

  return newest;
}

/**
 * Whether `npm run build` is needed: an app bundle is missing or older than a source file.
 * @param {string} root
 * @returns {boolean}
 */
function buildIsStale(root) {
  const built = BUILT_APPS.map((file) => newestMtime(path.join(root, file)));
  if (built.some((mtime) => mtime === 0)) return true;
  const sources = [...SOURCE_DIRS, ...SOURCE_FILES].map((name) => newestMtime(path.join(root, name)));

  return Math.max(...sources) > Math.min(...built);
}

/**
 * Marks the bundles as built now. Webpack leaves a bundle whose output did not change untouched, which would
 * keep it looking older than the sources; runs after every `npm run build` (postbuild).
 * @param {string} root
 */
function markBuilt(root) {
  const now = new Date();
  for (const file of BUILT_APPS) fs.utimesSync(path.join(root, file), now, now);
}

/**
 * `npm run build` when buildIsStale says so.
 * @param {string} root
 * @param {(message: string) => void} say
 */
function ensureBuilt(root, say) {
  if (!buildIsStale(root)) return;
  say('building the apps (npm run build)');
  const code = runNpm(root, ['run', 'build']);
  if (code !== 0) throw new Error(`npm run build failed (exit code ${code})`);
}

module.exports = { APP_NODE_FLAGS, BUILT_APPS, runNpm, ensureNodeModules, buildIsStale, ensureBuilt, markBuilt };

if (require.main === module && process.argv[2] === 'mark-built') markBuilt(path.join(__dirname, '..', '..'));
