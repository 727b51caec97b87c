#!/usr/bin/env node
/**
 * `npm test`: works as the first command on a fresh clone. Installs the npm packages when node_modules is missing,
 * Redis and PostgreSQL when they are not there (Debian packages, as root), builds the apps (SPILLWAY_SKIP_BUILD=1
 * skips that but still generates the Lua modules), runs every spec with Vitest (arguments are passed on:
 * `npm test -- -t name`) and ends with one line: `N passed, N failed[, N skipped]`. Exit code 0 only when nothing
 * failed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { ensureNodeModules, runNpm } = require('./lib/project.js');

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * @typedef {{ passed: number, failed: number, skipped: number }} Counts
 */

/**
 * Runs Vitest once with its usual output, plus a JSON report (Jest's format) in `outputFile`.
 * @param {string} outputFile
 * @param {string[]} args
 * @returns {Promise<number>} exit code
 */
function runVitest(outputFile, args) {
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${outputFile}`];
  const child = spawn(process.execPath, [vitest, 'run', ...reporters, ...args], { cwd: root, stdio: 'inherit' });
  // Ctrl-C reaches Vitest too (same process group): let it stop and report, then summarise what it wrote.
  const ignore = () => undefined;
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);

  return new Promise((resolve) => {
    child.once('error', (error) => {
      console.error(`cannot run Vitest: ${error.message}`);
      resolve(1);
    });
    child.once('close', (code, signal) => {
      process.off('SIGINT', ignore);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/**
 * Counts from the JSON report; a suite that failed outside its tests (did not compile, threw in a hook, ...)
 * counts as one failure.
 * @param {string} file
 * @returns {Counts | undefined}
 */
function countResults(file) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const brokenSuites = report.testResults.filter(
    (/** @type {{ status: string, assertionResults: { status: string }[] }} */ suite) =>
      suite.status === 'failed' && !suite.assertionResults.some((test) => test.status === 'failed'),
  ).length;

  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + brokenSuites,
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

/**
 * @param {Counts} counts
 * @returns {string}
 */
function summaryLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

/**
 * @returns {Promise<number>} exit code
 */
async function main() {
  /** @type {Counts} */
  const counts = { passed: 0, failed: 0, skipped: 0 };
  try {
    ensureNodeModules(root);
    require('./lib/servers.js').ensureServerBinaries();
  } catch (error) {
    console.error(`npm test cannot start: ${error instanceof Error ? error.message : error}`);
    console.log(summaryLine({ ...counts, failed: 1 }));
    return 1;
  }

  // The build's prebuild generates the Lua script modules the specs import; without a build, generate them alone.
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {};
  const step = process.env.SPILLWAY_SKIP_BUILD === '1' ? 'generate:lua' : 'build';
  if (scripts[step]) {
    const code = runNpm(root, ['run', step]);
    if (code !== 0) {
      console.error(`npm run ${step} failed (exit code ${code}); running the tests anyway, counted as 1 failure`);
      counts.failed += 1;
    }
  }

  const reportDir = mkdtempSync(join(tmpdir(), 'spillway-test-report-'));
  try {
    const code = await runVitest(join(reportDir, 'report.json'), process.argv.slice(2));
    const found = countResults(join(reportDir, 'report.json'));
    if (found) {
      counts.passed += found.passed;
      counts.failed += found.failed;
      counts.skipped += found.skipped;
    }
    if (code !== 0 && (!found || found.failed === 0)) {
      console.error(`Vitest exited with code ${code}${found ? '' : ' without a report'}: counted as 1 failure`);
      counts.failed += 1;
    }
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }

  console.log(summaryLine(counts));

  return counts.failed > 0 ? 1 : 0;
}

process.exitCode = await main();
