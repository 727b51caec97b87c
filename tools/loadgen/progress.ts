// Progress bar on stderr (stdout stays clean for --json); drawn only on a terminal.
import cliProgress from 'cli-progress';
import { errorCount, type Stats } from './stats';

const REFRESH_MS = 250;
// The rate shown is over about the last second, so stalls and 429 back-offs are visible.
const RATE_WINDOW_MS = 1000;

/** Starts redrawing; returns `stop()`. */
export function startProgress({
  stats,
  durationMs,
  startedAt,
}: {
  stats: Stats;
  durationMs: number;
  startedAt: number;
}): () => void {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        '{bar} {percentage}% | {duration}/{seconds} s | sent {sent} | {rate} req/s | 429 {throttled} | errors {errors}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const durationS = Math.round(durationMs / 1000);
  const samples: { now: number; sent: number }[] = [];

  function sentTotal(): number {
    return Object.values(stats.sent).reduce((a, b) => a + b, 0);
  }

  function recentRate(now: number, sent: number): number {
    samples.push({ now, sent });
    while (samples.length > 1 && now - (samples[0]?.now ?? now) > RATE_WINDOW_MS) samples.shift();
    const oldest = samples[0] ?? { now, sent };

    return now > oldest.now ? ((sent - oldest.sent) * 1000) / (now - oldest.now) : 0;
  }

  function payload(now: number) {
    const sent = sentTotal();

    return {
      seconds: durationS,
      sent,
      rate: Math.round(recentRate(now, sent)),
      throttled: stats.throttled,
      errors: errorCount(stats),
    };
  }

  bar.start(durationMs, 0, payload(performance.now()));
  const timer = setInterval(() => {
    const now = performance.now();
    bar.update(Math.min(durationMs, now - startedAt), payload(now));
  }, REFRESH_MS);

  return function stop() {
    clearInterval(timer);
    const now = performance.now();
    bar.update(Math.min(durationMs, now - startedAt), payload(now));
    bar.stop();
  };
}
