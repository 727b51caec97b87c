// Load generator: simulated mobile-banking session traffic against a running Spillway ingest.
// Usage: npm run loadgen -- --help
import { EXIT_FAILED, EXIT_PASSED, EXIT_USAGE } from '../shared/cli';
import { createClient } from './http';
import { isLoopbackHost, type Options, parseOptions, USAGE, UsageError } from './options';
import { startProgress } from './progress';
import { startRun } from './runner';
import { buildSummary, createStats, formatSummary, networkErrorRate } from './stats';
import { createClickTraffic, createSessionTraffic } from './traffic';

const MAX_NETWORK_ERROR_RATE = 0.5;

function readOptions(): Options | { help: true } | null {
  try {
    return parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`loadgen: ${err.message}\nRun with --help for usage.\n`);

    return null;
  }
}

// Load belongs on a machine you own; a typo in --url should not hit someone's production.
function refuseRemote(options: Options): boolean {
  if (options.allowRemote || isLoopbackHost(options.url.hostname)) return false;
  process.stderr.write(
    `loadgen: refusing to send load to ${options.url.host}, which is not a loopback address.\n` +
      'Pass --allow-remote if that is really intended.\n',
  );

  return true;
}

function trafficSources(options: Options) {
  const seeded = { seed: options.seed, poolSize: options.ids };

  return [
    { traffic: createSessionTraffic({ ...seeded, mix: options.mix }), perSec: options.rate },
    { traffic: createClickTraffic(seeded), perSec: options.eventsPerSec },
  ];
}

function announce(options: Options): void {
  const events = options.eventsPerSec > 0 ? ` + ${options.eventsPerSec} events/s to ${options.eventsCollection}` : '';
  process.stderr.write(
    `loadgen: ${options.rate} ops/s${events} for ${options.duration} s to ${options.url.origin} ` +
      `(collection ${options.collection}, concurrency ${options.concurrency}, seed ${options.seed})\n`,
  );
}

async function main(): Promise<number> {
  const options = readOptions();
  if (!options) return EXIT_USAGE;
  if ('help' in options) {
    process.stdout.write(USAGE);

    return EXIT_PASSED;
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

  return networkErrorRate(stats) > MAX_NETWORK_ERROR_RATE ? EXIT_FAILED : EXIT_PASSED;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`loadgen: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_FAILED;
  },
);
