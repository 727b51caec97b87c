// Paces operations to the target rates, caps the requests in flight, backs off on 429,
// and stops at the deadline (or earlier, when told to or when nothing answers).
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadClient } from './http';
import { recordResult, recordSent, type SendResult, type Stats } from './stats';
import type { Traffic } from './traffic';

// Longest sleep in one go, so a stop request is noticed quickly.
const TICK_MS = 50;
// Slots further behind than this are dropped rather than sent in a burst.
const MAX_LAG_MS = 1000;
// With this many answers and every one a network error, nothing is listening.
const DEAD_AFTER = 20;

export interface Pacer {
  /** when the next slot is due */
  readonly due: number;
  readonly done: boolean;
  take(): void;
  /** Drops slots due before `t`; returns how many. */
  skipBefore(t: number): number;
}

/** Send slots at `perSec`, starting at `startMs`, all of them before `startMs + durationMs`. */
export function createPacer(perSec: number, startMs: number, durationMs: number): Pacer {
  const interval = 1000 / perSec;
  const total = Math.ceil((perSec * durationMs) / 1000);
  let next = 0;

  return {
    get due() {
      return startMs + next * interval;
    },
    get done() {
      return next >= total;
    },
    take() {
      next += 1;
    },
    skipBefore(t) {
      const target = Math.min(total, Math.ceil((t - startMs) / interval));
      const skipped = Math.max(0, target - next);
      next += skipped;

      return skipped;
    },
  };
}

export interface Semaphore {
  acquire(): Promise<void>;
  release(): void;
}

export function createSemaphore(size: number): Semaphore {
  let free = size;
  const waiters: (() => void)[] = [];

  return {
    acquire() {
      if (free > 0) {
        free -= 1;

        return Promise.resolve();
      }

      return new Promise((resolve) => waiters.push(resolve));
    },
    release() {
      const next = waiters.shift();
      if (next) next();
      else free += 1;
    },
  };
}

interface Stream {
  traffic: Traffic;
  pacer: Pacer;
  backoffUntil: number;
  readyAt(): number;
}

function createStream(traffic: Traffic, perSec: number, startMs: number, durationMs: number): Stream {
  return {
    traffic,
    pacer: createPacer(perSec, startMs, durationMs),
    backoffUntil: 0,
    readyAt() {
      return Math.max(this.pacer.due, this.backoffUntil);
    },
  };
}

export interface RunOutcome {
  sendingMs: number;
  /** includes waiting for the last answers */
  elapsedMs: number;
  stoppedBecause: string | null;
}

export interface Run {
  stop(reason: string): void;
  finished: Promise<RunOutcome>;
  startedAt: number;
}

/** Starts sending from each source at its rate. */
export function startRun({
  sources,
  client,
  stats,
  durationMs,
  concurrency,
  drainMs,
}: {
  sources: { traffic: Traffic; perSec: number }[];
  client: LoadClient;
  stats: Stats;
  durationMs: number;
  concurrency: number;
  drainMs: number;
}): Run {
  const startedAt = performance.now();
  const endsAt = startedAt + durationMs;
  const streams = sources
    .filter((s) => s.perSec > 0)
    .map((s) => createStream(s.traffic, s.perSec, startedAt, durationMs));
  const slots = createSemaphore(concurrency);
  const inFlight = new Set<Promise<void>>();
  let stoppedBecause: string | null = null;

  const stop = (reason: string): void => {
    stoppedBecause ??= reason;
  };

  function nextStream(): Stream | undefined {
    const open = streams.filter((s) => !s.pacer.done);

    return open.reduce<Stream | undefined>((best, s) => (best && best.readyAt() <= s.readyAt() ? best : s), undefined);
  }

  function onResult(stream: Stream, result: SendResult): void {
    if (result.networkError === undefined && result.status === 429) {
      stream.backoffUntil = Math.max(stream.backoffUntil, performance.now() + (result.retryAfterMs ?? 1000));
    }
    if (stats.completed >= DEAD_AFTER && stats.networkErrors === stats.completed) {
      stop('no answer from the ingest');
    }
  }

  function launch(stream: Stream): void {
    const op = stream.traffic.next();
    stream.pacer.take();
    recordSent(stats, op);
    const request: Promise<void> = client
      .send(op)
      .then((result) => {
        recordResult(stats, op, result);
        onResult(stream, result);
      })
      .finally(() => {
        inFlight.delete(request);
        slots.release();
      });
    inFlight.add(request);
  }

  async function dispatch(): Promise<void> {
    while (!stoppedBecause) {
      const now = performance.now();
      if (now >= endsAt) return stop('duration elapsed');
      const stream = nextStream();
      if (!stream) return stop('all slots sent');
      const wait = stream.readyAt() - now;
      if (wait > 0) {
        await sleep(Math.min(wait, TICK_MS, endsAt - now));
        continue;
      }
      await slots.acquire();
      // After a back-off or a wait for a free slot, resume at the current time, not in a burst.
      const resumeAt = Math.max(performance.now() - MAX_LAG_MS, stream.backoffUntil);
      stats.skipped += stream.pacer.skipBefore(resumeAt);
      if (stoppedBecause || stream.pacer.done) slots.release();
      else launch(stream);
    }
  }

  async function drain(): Promise<boolean> {
    const drained = Promise.allSettled([...inFlight]).then(() => true);

    // An unref'd timer: once the last answer is in, nothing should keep the process up for the rest of drainMs.
    return Promise.race([drained, sleep(drainMs, undefined, { ref: false }).then(() => false)]);
  }

  const finished = (async (): Promise<RunOutcome> => {
    await dispatch();
    const sendingMs = performance.now() - startedAt;
    const clean = await drain();
    await (clean ? client.close() : client.destroy());

    return { sendingMs, elapsedMs: performance.now() - startedAt, stoppedBecause };
  })();

  return { stop, finished, startedAt };
}
