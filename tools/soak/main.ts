// Soak: measures the stack's maximum request rate, then holds half of it for a long while and reports memory
// and backlog over time, then drains and checks convergence as the chaos run does. Usage: npm run soak -- --help
import { DATABASE_FLAG_HELP, readDatabaseFlag } from '../chaos/database-flag';
import { Ledger } from '../chaos/ledger';
import { formatChaosReport, formatSoakSeries } from '../chaos/report';
import {
  appOutputTails,
  type ChaosReport,
  chaosStack,
  drainAndVerify,
  memory,
  runLoad,
  trafficSummary,
} from '../chaos/runner';
import { TrafficStats } from '../chaos/workload';
import type { DatabaseKind } from '../local-stack';
import { runTool, stringFlags } from '../shared/cli';

const USAGE = `Usage: npm run soak -- [flags]

Starts its own Redis (AOF, fsync every second, as npm start does), PostgreSQL or MariaDB, ingest and sinks on
loopback; sends as fast as answered for --probe seconds to find the maximum request rate; then sends half of that
for --duration seconds, sampling RSS and backlog every second; then drains and checks the tables.

  --db KIND      ${DATABASE_FLAG_HELP}
  --duration S   seconds at half the maximum rate (default 300)
  --probe S      seconds at full speed to find the maximum (default 20)
  --replicas N   sink replicas (default 2)
  --clients N    concurrent HTTP clients (default 32)
  --ids N        document ids (default 2000)
  --seed N       (default random, printed)
  --json FILE    also write the full report as JSON
  -h, --help     this text
`;

interface SoakOptions {
  database: DatabaseKind;
  seed: number;
  duration: number;
  probe: number;
  replicas: number;
  clients: number;
  ids: number;
}

/** A chaos report with the rates the soak found and held. */
interface SoakReport extends ChaosReport {
  maxRate: number;
  maxWriteRate: number;
  rate: number;
  achievedRate: number;
  achievedWriteRate: number;
}

const say = (line: string): void => {
  process.stderr.write(`soak: ${line}\n`);
};

/** Acknowledged writes so far: document writes and events (an event resent counts once). */
const writes = (ledger: Ledger): number => ledger.ackedDocumentWrites + ledger.events.size;

/** Requests that got an answer, whatever its status (the pace counts requests, not acknowledgements). */
const answered = (stats: TrafficStats): number =>
  Object.values(stats.byKind).reduce(
    (n, row) =>
      n +
      Object.entries(row)
        .filter(([s]) => /^\d{3}/.test(s))
        .reduce((m, [, c]) => m + c, 0),
    0,
  );

async function soak(options: SoakOptions): Promise<SoakReport> {
  const claimIdleMs = 30_000;
  const stack = chaosStack({
    database: options.database,
    replicas: options.replicas,
    claimIdleMs,
    redisFsync: 'everysec',
  });
  const record = { ledger: new Ledger(), stats: new TrafficStats(), say };
  const load = { clients: options.clients, ids: options.ids, faults: [], poison: 0, claimIdleMs };
  try {
    say(`seed ${options.seed}; starting the stack in ${stack.dir}`);
    await stack.start();
    say(`probe: ${options.probe} s as fast as answered`);
    const probe = await runLoad(stack, record, { ...load, seed: options.seed, duration: options.probe });
    const maxRate = Math.round(answered(record.stats) / (probe.sentMs / 1000));
    const maxWriteRate = Math.round(writes(record.ledger) / (probe.sentMs / 1000));
    const probeDrainMs = await stack.waitDrained(600_000);
    const rate = Math.max(1, Math.floor(maxRate / 2));
    say(
      `maximum ${maxRate} requests/s, ${maxWriteRate} writes/s (drained ${probeDrainMs} ms later); ` +
        `soak at ${rate} requests/s for ${options.duration} s`,
    );

    const before = answered(record.stats);
    const writesBefore = writes(record.ledger);
    const memoryAtStart = memory(stack);
    const held = await runLoad(stack, record, { ...load, seed: options.seed + 1, duration: options.duration, rate });
    const memoryAtEnd = memory(stack);
    const soakAnswered = answered(record.stats) - before;
    const soakWrites = writes(record.ledger) - writesBefore;
    const { drainMs, verdict, failures } = await drainAndVerify(stack, record, [], 600_000);
    const report: SoakReport = {
      seed: options.seed,
      replay:
        `npm run soak -- ${options.database === 'postgres' ? '' : `--db ${options.database} `}--seed ${options.seed} --duration ${options.duration} --probe ${options.probe} ` +
        `--replicas ${options.replicas}`,
      options: { ...options, faults: [] },
      maxRate,
      maxWriteRate,
      rate,
      achievedRate: Math.round(soakAnswered / (held.sentMs / 1000)),
      achievedWriteRate: Math.round(soakWrites / (held.sentMs / 1000)),
      sentMs: probe.sentMs + held.sentMs,
      drainMs,
      traffic: trafficSummary(record),
      faults: { injected: {}, timeline: [] },
      poison: [],
      verdict,
      memory: { start: memoryAtStart, loadEnd: memoryAtEnd, end: memory(stack) },
      backlog: { max: Math.max(0, ...held.samples.map((s) => s.backlog)), samples: held.samples },
      failures,
      passed: failures.length === 0,
    };
    process.stdout.write(
      `\nsoak: maximum ${maxRate} requests/s (${maxWriteRate} writes/s); held ${report.achievedRate} requests/s ` +
        `(${report.achievedWriteRate} writes/s; target ${rate} requests/s) for ${options.duration} s\n` +
        `${formatSoakSeries(held.samples, Math.max(1, Math.round(options.duration / 20)))}\n`,
    );
    process.stdout.write(formatChaosReport(report));

    return report;
  } catch (error) {
    process.stderr.write(`${appOutputTails(stack)}\n`);
    throw error;
  } finally {
    await stack.stop();
  }
}

runTool({
  name: 'soak',
  usage: USAGE,
  flags: stringFlags({ db: 'postgres', duration: '300', probe: '20', replicas: '2', clients: '32', ids: '2000' }),
  read: (flags) => ({
    database: readDatabaseFlag(flags.string('db')),
    duration: flags.int('duration', 10, 86_400),
    probe: flags.int('probe', 5, 600),
    replicas: flags.int('replicas', 1, 16),
    clients: flags.int('clients', 1, 512),
    ids: flags.int('ids', 100, 1_000_000),
  }),
  run: soak,
});
