// npm run bench: measures Spillway against the raw limits of Redis and PostgreSQL in one run (issue 4) and writes
// bench/results/<date>.json, .md and .svg; with --cluster, on a local Redis Cluster against one server (issue 17); with
// --rows, where every entry is a row, against the raw database (issue 18).
// Usage: npm run bench -- --help
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, ROOT, runNpm } from '../tools/local-stack';
import { runStart } from './lib/host';
import { say } from './lib/log';
import { type BenchOptions, parseOptions, USAGE } from './lib/options';

/** The generated Lua modules @app/redis loads: there after a build, made now when someone removed them since. */
function ensureLuaGenerated(): void {
  if (existsSync(join(ROOT, 'libs', 'redis', 'src', 'lua', 'generated', 'index.ts'))) return;
  const code = runNpm(['run', 'generate:lua']);
  if (code !== 0) throw new Error(`npm run generate:lua failed (exit code ${code})`);
}

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(
      `bench: ${error instanceof Error ? error.message : String(error)}\nRun with --help for usage.\n`,
    );

    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);

    return 0;
  }
  const start = runStart();
  say(start.uptime);
  ensureBuilt();
  ensureLuaGenerated();
  // Loaded only now: the phases import @app/redis, whose scripts are the generated modules.
  if (options.durability) {
    const { runDurabilityBench } = await import('./lib/durability-run');

    return runDurabilityBench(options, start);
  }
  if (options.rows) {
    const { runRowsBench } = await import('./lib/rows-run');

    return runRowsBench(options, start);
  }
  if (options.cluster) {
    const { runClusterBench } = await import('./lib/cluster-run');

    return runClusterBench(options, start);
  }
  const { runBench } = await import('./lib/run');

  return runBench(options, start);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
