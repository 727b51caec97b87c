import { readFileSync } from 'node:fs';

/** What every local server kind (redis.ts, postgres.ts, mariadb.ts) offers the tracking below. */
export interface LocalServer {
  /** e.g. `redis://127.0.0.1:6379`, `postgres://postgres@127.0.0.1:5432/spillway`, `mysql://spillway:…` */
  readonly url: string;
  readonly port: number;
  /** the data folder */
  readonly dir: string;
  readonly logFile: string;
  start(): Promise<void>;
  /** a clean stop; waits for the exit */
  stop(): Promise<void>;
  /** asks the server to stop without waiting; returns the pid signalled */
  signalStop(): number | undefined;
}

/** Whether a process runs (a zombie, exited but not yet reaped, does not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');

    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** Blocks the thread (for exit and signal handlers, where nothing asynchronous runs any more). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const tracked = new Set<LocalServer>();
let exitHookInstalled = false;

/**
 * Remembers a server to stop with the owner; the `exit` hook is installed with the first one (modules that only
 * use postgresControl(), such as specs, add no listener).
 */
export function track(server: LocalServer): void {
  tracked.add(server);
  if (exitHookInstalled) return;
  // First in line: a listener that calls process.exit() again (Vitest's does) ends the process on the spot.
  process.prependListener('exit', () => stopAllSync());
  exitHookInstalled = true;
}

/** Forgets a server (one that failed to start, say). */
export function untrack(server: LocalServer): void {
  tracked.delete(server);
}

/** Stops every server this process started, cleanly, and waits for them. */
export async function stopAll(): Promise<void> {
  const handles = [...tracked];
  tracked.clear();
  const results = await Promise.allSettled(handles.map((handle) => handle.stop()));
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Signals every tracked server to shut down and, with `waitMs`, blocks until they are gone or the time is up
 * (usable in `exit` and signal handlers).
 */
export function stopAllSync(waitMs = 0): void {
  const pids = [...tracked].map((handle) => handle.signalStop()).filter((pid) => pid !== undefined);
  tracked.clear();
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && pids.some(isAlive)) sleepSync(25);
}

/**
 * On SIGINT, SIGTERM or SIGHUP: stop the tracked servers (waiting up to 10 s), run `cleanup`, then let the signal
 * take its usual course (the other listeners, or re-raised when there are none). For owners with no shutdown logic
 * of their own, such as the test runner's main process.
 */
export function stopAllOnSignals(cleanup?: () => void): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.prependOnceListener(signal, () => {
      stopAllSync(10_000);
      cleanup?.();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
