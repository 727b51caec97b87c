// Fuzz run: a whole Spillway on loopback under seeded hostile requests mixed with valid traffic, then checks that
// nothing answered outside the contract, nothing crashed, the valid writes all landed and the refused ones left no
// trace. Usage: npm run fuzz -- --help
import { runTool, stringFlags } from '../shared/cli';
import { formatFuzzReport } from './report';
import { runFuzz } from './runner';

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

runTool({
  name: 'fuzz',
  usage: USAGE,
  flags: {
    ...stringFlags({
      duration: '45',
      requests: undefined,
      concurrency: '8',
      replicas: '2',
      ids: '300',
      slow: '4',
    }),
    keep: { type: 'boolean', default: false },
  },
  read: (flags) => ({
    duration: flags.int('duration', 1, 3600),
    requests: flags.optionalInt('requests', 1, 10_000_000),
    concurrency: flags.int('concurrency', 1, 256),
    replicas: flags.int('replicas', 1, 8),
    ids: flags.int('ids', 10, 100_000),
    slowClients: flags.int('slow', 0, 64),
    keep: flags.boolean('keep'),
  }),
  async run(options) {
    const report = await runFuzz({ ...options, onProgress: (line) => process.stderr.write(`${line}\n`) });
    process.stdout.write(`${formatFuzzReport(report)}\n`);

    return report;
  },
});
