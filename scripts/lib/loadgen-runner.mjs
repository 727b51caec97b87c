// Paces operations to the target rates, caps the requests in flight, backs off on 429,
// and stops at the deadline (or earlier, when told to or when nothing answers).
import { setTimeout as sleep } from 'node:timers/promises';
import { recordResult, recordSent } from './loadgen-stats.mjs';

// Longest sleep in one go, so a stop request is noticed quickly.
const TICK_MS = 50;
// Slots further behind than this are dropped rather than sent in a burst.
const MAX_LAG_MS = 1000;
// With this many answers and every one a network error, nothing is listening.
const DEAD_AFTER = 20;

/** Send slots at `perSec`, starting at `startMs`, all of them before `startMs + durationMs`. */
export function createPacer(perSec, startMs, durationMs) {
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
    /** Drops slots due before `t`; returns how many. */
    skipBefore(t) {
      const target = Math.min(total, Math.ceil((t - startMs) / interval));
      const skipped = Math.max(0, target - next);
      next += skipped;
      return skipped;
    },
  };
}

export function createSemaphore(size) {
  let free = size;
  const waiters = [];
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

function createStream(traffic, perSec, startMs, durationMs) {
  return {
    traffic,
    pacer: createPacer(perSec, startMs, durationMs),
    backoffUntil: 0,
    readyAt() {
      return Math.max(this.pacer.due, this.backoffUntil);
    },
  };
}

/**
 * Starts sending. `sources` is a list of `{ traffic, perSec }`.
 * Returns `{ stop(reason), finished, startedAt }`; `finished` resolves to
 * `{ sendingMs, elapsedMs, stoppedBecause }` (elapsed includes waiting for the last answers).
 */
export function startRun({ sources, client, stats, durationMs, concurrency, drainMs }) {
  const startedAt = performance.now();
  const endsAt = startedAt + durationMs;
  const streams = sources
    .filter((s) => s.perSec > 0)
    .map((s) => createStream(s.traffic, s.perSec, startedAt, durationMs));
  const slots = createSemaphore(concurrency);
  const inFlight = new Set();
  let stoppedBecause = null;

  const stop = (reason) => {
    stoppedBecause ??= reason;
  };

  function nextStream() {
    const open = streams.filter((s) => !s.pacer.done);
    return open.reduce((best, s) => (best && best.readyAt() <= s.readyAt() ? best : s), undefined);
  }

  function onResult(stream, result) {
    if (result.status === 429) {
      stream.backoffUntil = Math.max(stream.backoffUntil, performance.now() + result.retryAfterMs);
    }
    if (stats.completed >= DEAD_AFTER && stats.networkErrors === stats.completed) {
      stop('no answer from the ingest');
    }
  }

  function launch(stream) {
    const op = stream.traffic.next();
    stream.pacer.take();
    recordSent(stats, op);
    const request = client
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

  async function dispatch() {
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

  async function drain() {
    const drained = Promise.allSettled([...inFlight]).then(() => true);
    return Promise.race([drained, sleep(drainMs).then(() => false)]);
  }

  const finished = (async () => {
    await dispatch();
    const sendingMs = performance.now() - startedAt;
    const clean = await drain();
    await (clean ? client.close() : client.destroy());
    return { sendingMs, elapsedMs: performance.now() - startedAt, stoppedBecause };
  })();

  return { stop, finished, startedAt };
}
