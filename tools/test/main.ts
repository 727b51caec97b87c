/**
 * `npm test`: works as the first command on a fresh clone (tools/bootstrap.js installs the npm packages first).
 *
 * 1. Redis and PostgreSQL binaries, installed when missing (Debian packages, as root).
 * 2. The Lua script modules the libs import (npm run generate:lua).
 * 3. The guard rails, each with its output: `npm run lint` (ESLint), `npm run check` (tsc --noEmit) and
 *    `npm run format:check` (Prettier); each one that fails counts as 1 failed. SPILLWAY_SKIP_CHECKS=1 skips them
 *    for a quick local run; CI never sets it.
 * 4. The build (npm run build; SPILLWAY_SKIP_BUILD=1 skips it), which the specs that start the built apps need.
 * 5. Every spec with Vitest; arguments are passed on (`npm test -- -t name`, `npm test -- libs/contracts`).
 *
 * Ends with one line, `N passed, N failed[, N skipped]`; the exit code is 0 only when nothing failed.
 */
import { ensureServerBinaries, runNpm } from '../local-stack';
import { type Counts, runSpecs } from './vitest-run';

const GUARD_RAILS = ['lint', 'check', 'format:check'];

function summaryLine({ passed, failed, skipped }: Counts): string {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

/** `npm run <script>` with its output shown; returns 1 when it failed (said on stderr), else 0. */
function failuresOf(script: string, consequence: string): number {
  const code = runNpm(['run', script]);
  if (code === 0) return 0;
  console.error(`npm run ${script} failed (exit code ${code}); ${consequence}, counted as 1 failure`);

  return 1;
}

async function main(): Promise<number> {
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  try {
    ensureServerBinaries();
  } catch (error) {
    console.error(`npm test cannot start: ${error instanceof Error ? error.message : String(error)}`);
    console.log(summaryLine({ ...counts, failed: 1 }));

    return 1;
  }

  // The type check and the specs import the generated Lua modules; the build's prebuild makes them again (no-op).
  counts.failed += failuresOf('generate:lua', 'carrying on');
  if (process.env.SPILLWAY_SKIP_CHECKS !== '1') {
    for (const script of GUARD_RAILS) counts.failed += failuresOf(script, 'carrying on');
  }
  if (process.env.SPILLWAY_SKIP_BUILD !== '1') counts.failed += failuresOf('build', 'running the tests anyway');

  const found = await runSpecs(process.argv.slice(2));
  counts.passed += found.passed;
  counts.failed += found.failed;
  counts.skipped += found.skipped;
  console.log(summaryLine(counts));

  return counts.failed > 0 ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
