import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../local-stack';

/** Test counts as the summary line gives them. */
export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** The part of Vitest's JSON report (Jest's format) that the counts come from. */
interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { status: string; assertionResults: { status: string }[] }[];
}

/** Runs Vitest once with its usual output, plus a JSON report in `outputFile`; resolves with its exit code. */
function runVitest(outputFile: string, args: string[]): Promise<number> {
  const vitest = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const reporters = ['--reporter=default', '--reporter=json', `--outputFile.json=${outputFile}`];
  const child = spawn(process.execPath, [vitest, 'run', ...reporters, ...args], { cwd: ROOT, stdio: 'inherit' });
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
 */
function countResults(file: string): Counts | undefined {
  let report: JsonReport;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as JsonReport;
  } catch {
    return undefined;
  }
  const brokenSuites = report.testResults.filter(
    (suite) => suite.status === 'failed' && !suite.assertionResults.some((test) => test.status === 'failed'),
  ).length;

  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests + brokenSuites,
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

/**
 * Runs the specs with Vitest (`args` passed on) and counts them; Vitest failing without a failed test (a crash,
 * no report) counts as one failure.
 */
export async function runSpecs(args: string[]): Promise<Counts> {
  const reportDir = mkdtempSync(join(tmpdir(), 'spillway-test-report-'));
  try {
    const code = await runVitest(join(reportDir, 'report.json'), args);
    const found = countResults(join(reportDir, 'report.json'));
    const counts = found ?? { passed: 0, failed: 0, skipped: 0 };
    if (code !== 0 && counts.failed === 0) {
      console.error(`Vitest exited with code ${code}${found ? '' : ' without a report'}: counted as 1 failure`);
      counts.failed += 1;
    }

    return counts;
  } finally {
    rmSync(reportDir, { recursive: true, force: true });
  }
}
