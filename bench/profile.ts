// Profiles the apps under bench phases: runs bench/main.ts with every ingest and sink process writing a V8 CPU
// profile (--cpu-prof), then turns each profile into an HTML report with flame graphs and time by package (cpupro).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../tools/local-stack';

const USAGE = `Usage: npm run bench:profile -- --out DIR [bench flags]

Runs npm run bench with the given flags (e.g. --only sink --entries 300000) while every app process it starts
writes a CPU profile, then writes one flame-graph report a process to DIR: <app>-<pid>.html, beside the raw
<app>-<pid>.cpuprofile (which Chrome DevTools and speedscope also open). The bench's own results go to DIR/results.
`;

function main(args: string[]): number {
  const outAt = args.indexOf('--out');
  const out = outAt < 0 ? undefined : args[outAt + 1];
  const help = args.includes('-h') || args.includes('--help');
  if (help || out === undefined || out === '') {
    process.stdout.write(USAGE);

    return help ? 0 : 2;
  }
  const benchArgs = [...args.slice(0, outAt), ...args.slice(outAt + 2), '--out', join(out, 'results')];
  const raw = join(out, 'raw');
  mkdirSync(raw, { recursive: true });

  const bench = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'main.ts'), ...benchArgs], {
    cwd: ROOT, // tsx reads the @app/* paths from ROOT/tsconfig.json
    stdio: 'inherit',
    env: {
      ...process.env,
      SPILLWAY_NODE_ARGS: `${process.env.SPILLWAY_NODE_ARGS ?? ''} --cpu-prof --cpu-prof-dir=${raw}`,
    },
  });

  let code = 0;
  for (const file of readdirSync(raw).filter((f) => f.endsWith('.cpuprofile'))) {
    const text = readFileSync(join(raw, file), 'utf8');
    const app = /dist\/apps\/(ingest|sink)\/main\.js/.exec(text)?.[1] ?? 'node';
    const pid = /\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1] ?? file;
    const name = `${app}-${pid}`;
    renameSync(join(raw, file), join(out, `${name}.cpuprofile`));
    const report = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'cpupro', 'bin', 'cpupro'),
        join(out, `${name}.cpuprofile`),
        '--no-open',
        '-o',
        out,
        '-f',
        `${name}.html`,
      ],
      { stdio: 'inherit' },
    );
    if (report.status !== 0) code = 1;
  }

  return code || (bench.status ?? 1);
}

process.exitCode = main(process.argv.slice(2));
