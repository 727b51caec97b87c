// What the results say about the machine and its load, which other work on a shared machine changes.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** Local date YYYY-MM-DD. */
export const today = (): string => {
  const d = new Date();

  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

/** The load averages over 1, 5 and 15 minutes. */
export const loadNow = (): number[] => loadavg().map((x) => Number(x.toFixed(2)));

/** What `uptime` prints: the users and the load averages. */
export function uptimeLine(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average: ${loadNow().join(', ')}`;
  }
}

/** The moment a run starts, taken before the apps are built so that the elapsed time counts the build. */
export interface RunStart {
  date: string;
  startedAt: string;
  startedMs: number;
  load: number[];
  uptime: string;
}

export function runStart(): RunStart {
  return {
    date: today(),
    startedAt: new Date().toISOString(),
    startedMs: Date.now(),
    load: loadNow(),
    uptime: uptimeLine(),
  };
}

/** What a run's results record of its end: the load and `uptime` then, and the seconds since `start`. */
export function recordRunEnd(
  results: { load: { end: number[]; uptimeEnd: string }; elapsedS?: number },
  start: RunStart,
): void {
  results.load.end = loadNow();
  results.load.uptimeEnd = uptimeLine();
  results.elapsedS = Math.round((Date.now() - start.startedMs) / 1000);
}

/** The machine a run measures: cores, CPU model, memory and Node.js (the servers' versions are added per run). */
export function machineFacts(): { cpus: number; cpuModel: string; memoryGb: number; node: string } {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}
