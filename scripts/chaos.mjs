#!/usr/bin/env node
// Chaos run: a whole Spillway on loopback under seeded traffic and seeded faults, then a check that PostgreSQL
// holds exactly what Redis acknowledged. Usage: npm run chaos -- --help
import { FAULT_KINDS } from './lib/chaos-faults.mjs';
import { formatChaosReport } from './lib/chaos-report.mjs';
import { runChaos } from './lib/chaos-runner.mjs';
import { runTool } from './lib/cli.mjs';

const USAGE = `Usage: npm run chaos -- [flags]

Starts its own Redis (AOF, appendfsync always), PostgreSQL, one ingest and N sinks on loopback, sends seeded
traffic while injecting seeded faults, then drains and checks that the tables hold exactly what was acknowledged.

  --duration S       seconds of traffic and faults (default 120)
  --replicas N       sink replicas (default 4)
  --clients N        concurrent HTTP clients (default 32)
  --ids N            document ids (default 2000; 1% of them take half the writes)
  --rate N           requests per second at most (default: as fast as answered)
  --faults LIST      comma-separated kinds or "none" (default all: ${FAULT_KINDS.join(', ')})
  --poison N         entries made undeliverable on purpose (default 4)
  --claim-idle MS    SINK_CLAIM_IDLE_MS of the sinks (default 3000)
  --seed N           replays a run's operations and fault schedule (default random, printed)
  --json FILE        also write the full report as JSON
  --keep             keep the data folder
  -h, --help         this text

Exit codes: 0 passed, 1 failed (mismatches, crashes or answers outside the contract), 2 bad usage.
`;

runTool({
  name: 'chaos',
  usage: USAGE,
  flags: {
    duration: { type: 'string', default: '120' },
    replicas: { type: 'string', default: '4' },
    clients: { type: 'string', default: '32' },
    ids: { type: 'string', default: '2000' },
    rate: { type: 'string' },
    faults: { type: 'string', default: FAULT_KINDS.join(',') },
    poison: { type: 'string', default: '4' },
    'claim-idle': { type: 'string', default: '3000' },
    keep: { type: 'boolean', default: false },
  },
  read(values, int) {
    const faults = values.faults === 'none' ? [] : values.faults.split(',').map((f) => f.trim());
    const unknown = faults.filter((f) => !FAULT_KINDS.includes(f));
    if (unknown.length) throw new Error(`unknown fault kind ${unknown.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
    return {
      duration: int('duration', 5, 3600),
      replicas: int('replicas', 1, 16),
      clients: int('clients', 1, 512),
      ids: int('ids', 100, 1_000_000),
      rate: values.rate === undefined ? undefined : int('rate', 1, 100_000),
      faults,
      poison: int('poison', 0, 100),
      claimIdleMs: int('claim-idle', 500, 600_000),
      drainTimeoutMs: 600_000,
      keep: values.keep,
    };
  },
  async run(options) {
    const report = await runChaos({ ...options, onProgress: (line) => process.stderr.write(`chaos: ${line}\n`) });
    process.stdout.write(formatChaosReport(report));
    return report;
  },
});
