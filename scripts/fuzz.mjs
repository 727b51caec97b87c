#!/usr/bin/env node
// Fuzz run: a whole Spillway on loopback under seeded hostile requests mixed with valid traffic, then checks that
// nothing answered outside the contract, nothing crashed, the valid writes all landed and the refused ones left no
// trace. Usage: npm run fuzz -- --help
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatFuzzReport } from './lib/fuzz-report.mjs';
import { runFuzz } from './lib/fuzz-runner.mjs';

const USAGE = `Usage: npm run fuzz -- [flags]

Starts its own Redis, PostgreSQL, one ingest and N sinks on loopback, sends a seeded mix of valid traffic (puts,
patches, deletes, creates, events, _bulk) and hostile requests (malformed and truncated JSON, deep nesting, NUL and
lone surrogates, prototype keys, huge and oversized bodies, wrong content types, bad ids, If-Match and _bulk
shapes, unknown collections, malformed HTTP, slow clients), then drains and checks the result.

  --duration S       seconds of traffic (default 45; the whole run takes about a minute)
  --requests N       stop after N requests instead (whichever comes first)
  --concurrency N    requests in flight (default 8)
  --replicas N       sink replicas (default 2)
  --ids N            valid document ids (default 300)
  --slow N           slow clients, each cut off by ingest after 30 s (default 4)
  --seed N           replays a run's mix of requests (default random, printed)
  --json FILE        also write the full report as JSON
  --keep             keep the data folder
  -h, --help         this text

Exit codes: 0 passed, 1 failed, 2 bad usage.
`;

function parse(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '45' },
      requests: { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      replicas: { type: 'string', default: '2' },
      ids: { type: 'string', default: '300' },
      slow: { type: 'string', default: '4' },
      seed: { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  const int = (name, min, max) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return value;
  };
  return {
    duration: int('duration', 1, 3600),
    requests: values.requests === undefined ? undefined : int('requests', 1, 10_000_000),
    concurrency: int('concurrency', 1, 256),
    replicas: int('replicas', 1, 8),
    ids: int('ids', 10, 100_000),
    slowClients: int('slow', 0, 64),
    seed: values.seed === undefined ? randomInt(1, 2 ** 31) : int('seed', 0, 2 ** 31),
    json: values.json,
    keep: values.keep,
  };
}

async function main() {
  let options;
  try {
    options = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`fuzz: ${error.message}\nRun with --help for usage.\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stderr.write(`fuzz: seed ${options.seed}\n`);
  const report = await runFuzz({ ...options, onProgress: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${formatFuzzReport(report)}\n`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return report.passed ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`fuzz: ${error?.stack ?? error}\n`);
    process.exitCode = 1;
  },
);
