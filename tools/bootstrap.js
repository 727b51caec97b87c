/**
 * The fresh-clone bootstrap behind `npm start`, `npm test` and the other npm scripts that must work on a fresh
 * clone; the one plain JavaScript file among the tools, since it runs before `npm install` has happened.
 *
 *   node tools/bootstrap.js <entry.ts> [args...]
 *
 * Installs the npm packages when node_modules is missing, then runs the TypeScript entry with
 * `node --import tsx <entry> [args...]` from the repository root. Signals sent to this process go on to the entry;
 * its exit code (or the signal that ended it) is this process's.
 */
'use strict';
// Plain CommonJS, Node built-ins only: this file runs before npm install and without a build step.
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS has no other way to load the built-ins */
const { spawn, spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { join } = require('node:path');
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = join(__dirname, '..');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `npm install` (which keeps to package-lock.json) when node_modules is missing. Not `npm ci`: npm 11 refuses
 * this lockfile for lacking other platforms' optional @swc/core binaries, though it installs from it fine. The npm
 * that runs this script is used when there is one.
 */
function ensureNodeModules() {
  if (existsSync(join(ROOT, 'node_modules'))) return;
  const args = ['install', '--no-audit', '--no-fund'];
  process.stderr.write(`spillway: node_modules is missing, running npm ${args.join(' ')}\n`);
  const npmCli = process.env.npm_execpath;
  const result = /\.[cm]?js$/.test(npmCli ?? '')
    ? spawnSync(process.execPath, [npmCli, ...args], { cwd: ROOT, stdio: 'inherit' })
    : spawnSync('npm', args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`npm install failed (${result.error ? result.error.message : `exit code ${result.status}`})`);
  }
}

function main() {
  const [entry, ...args] = process.argv.slice(2);
  if (!entry) {
    process.stderr.write('usage: node tools/bootstrap.js <entry.ts> [args...]\n');
    process.exitCode = 2;

    return;
  }
  try {
    ensureNodeModules();
  } catch (error) {
    process.stderr.write(`spillway: ${error.message}\n`);
    process.exitCode = 1;

    return;
  }

  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  // A Ctrl-C in the terminal reaches the entry directly (same process group); this passes on the signals sent to
  // this process alone, such as npm's.
  const forward = (signal) => child.kill(signal);
  for (const signal of SIGNALS) process.on(signal, forward);
  child.once('error', (error) => {
    process.stderr.write(`spillway: cannot run ${entry}: ${error.message}\n`);
    process.exitCode = 1;
  });
  child.once('exit', (code, signal) => {
    for (const name of SIGNALS) process.off(name, forward);
    if (signal) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
}

main();
