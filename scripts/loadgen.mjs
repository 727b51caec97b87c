#!/usr/bin/env node
// Load generator: simulated mobile-banking session traffic against a running Spillway ingest.
// Usage: npm run loadgen -- --help
import { UsageError, USAGE, isLoopbackHost, parseOptions } from './lib/loadgen-options.mjs';
import { createClient } from './lib/loadgen-http.mjs';
import { startProgress } from './lib/loadgen-progress.mjs';
import { startRun } from './lib/loadgen-runner.mjs';
import { buildSummary, createStats, formatSummary, networkErrorRate } from './lib/loadgen-stats.mjs';
import { createClickTraffic, createSessionTraffic } from './lib/loadgen-traffic.mjs';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const MAX_NETWORK_ERROR_RATE = 0.5;

function readOptions() {
  try {
    return parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`loadgen: ${err.message}\nRun with --help for usage.\n`);
    return null;
  }
}

// Load belongs on a machine you own; a typo in --url should not hit someone's production.
function refuseRemote(options) {
  if (options.allowRemote || isLoopbackHost(options.url.hostname)) return false;
  process.stderr.write(
    `loadgen: refusing to send load to ${options.url.host}, which is not a loopback address.\n` +
      'Pass --allow-remote if that is really intended.\n',
  );
  return true;
}

function trafficSources(options) {
  const seeded = { seed: options.seed, poolSize: options.ids };
  return [
    { traffic: createSessionTraffic({ ...seeded, mix: options.mix }), perSec: options.rate },
    { traffic: createClickTraffic(seeded), perSec: options.eventsPerSec },
  ];
}

function announce(options) {
  const events = options.eventsPerSec > 0 ? ` + ${options.eventsPerSec} events/s to ${options.eventsCollection}` : '';
  process.stderr.write(
    `loadgen: ${options.rate} ops/s${events} for ${options.duration} s to ${options.url.origin} ` +
      `(collection ${options.collection}, concurrency ${options.concurrency}, seed ${options.seed})\n`,
  );
}

async function main() {
  const options = readOptions();
  if (!options) return EXIT_USAGE;
  if (options.help) {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  if (refuseRemote(options)) return EXIT_USAGE;

  if (!options.json) announce(options);
  const stats = createStats();
  const durationMs = options.duration * 1000;
  const run = startRun({
    sources: trafficSources(options),
    client: createClient(options),
    stats,
    durationMs,
    concurrency: options.concurrency,
    drainMs: options.timeoutMs + 1000,
  });
  const stopProgress = options.quiet ? () => {} : startProgress({ stats, durationMs, startedAt: run.startedAt });
  // First Ctrl-C stops sending and still prints the summary; a second one kills as usual.
  process.once('SIGINT', () => run.stop('interrupted'));

  const outcome = await run.finished;
  stopProgress();
  const summary = buildSummary(stats, { options, ...outcome });
  process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
  return networkErrorRate(stats) > MAX_NETWORK_ERROR_RATE ? EXIT_FAILED : EXIT_OK;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`loadgen: ${err.stack ?? err}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
