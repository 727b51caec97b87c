// CPU time from /proc, to say where a phase's time went: the sinks, the database (PostgreSQL's postmaster and its
// backends, or mariadbd and its threads), Redis, ingest, the kernel's interrupt work, the rest of the machine (other
// people's work on a shared machine), and the time the hypervisor gave this machine's cores to other guests (steal).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stack } from '../../tools/local-stack';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** The fields of /proc/<pid>/stat after the command name; fields[0] is the state (field 3 of the man page). */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');

  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime + cutime + cstime of one process, in seconds; 0 when gone. */
export function processCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = statFields(pid);

    // utime is field 14, stime 15, cutime 16, cstime 17
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** A process and its live children (PostgreSQL's backends), in seconds. */
export function treeCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  let total = processCpuSeconds(pid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(entry)[1]) === pid) total += processCpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }

  return total;
}

/** The first line of a pid file, as a pid. */
function pidInFile(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/**
 * The database server's CPU seconds so far: PostgreSQL's postmaster and its backends (processes), or mariadbd, whose
 * connections are threads of the one process (and counted in its time).
 */
export function databaseCpuSeconds(stack: Pick<Stack, 'databaseServer'>): number {
  const server = stack.databaseServer;
  if (!server) return 0;

  return server.kind === 'postgres'
    ? treeCpuSeconds(pidInFile(join(server.dir, 'postmaster.pid')))
    : processCpuSeconds(pidInFile(join(server.dir, 'mariadbd.pid')));
}

export interface MachineCpu {
  busy: number;
  total: number;
  interrupts: number;
  steal: number;
}

/** Busy and total CPU seconds of the whole machine so far. */
export function machineCpu(): MachineCpu {
  const line = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const field = (i: number): number => line[i] ?? 0;
  const idle = field(3) + field(4);
  const total = line.reduce((a, b) => a + b, 0);
  // irq + softirq: the kernel's own work (loopback TCP for the most part), which no process is charged for
  const interrupts = field(5) + field(6);
  // steal: time a core of this virtual machine was ready to run while the host ran something else
  const steal = field(7);

  return {
    busy: (total - idle - steal) / TICKS_PER_SECOND,
    total: total / TICKS_PER_SECOND,
    interrupts: interrupts / TICKS_PER_SECOND,
    steal: steal / TICKS_PER_SECOND,
  };
}

export interface CpuSnapshot {
  at: number;
  sinks: number;
  ingest: number;
  redis: number;
  database: number;
  bench: number;
  machine: MachineCpu;
}

/** Snapshot of the CPU seconds used so far by each part of the stack; `cpuSince` turns two into a breakdown. */
export function cpuSnapshot(stack: Stack, sinks: { pid?: number | undefined }[]): CpuSnapshot {
  return {
    at: Date.now(),
    sinks: sinks.reduce((n, s) => n + processCpuSeconds(s.pid), 0),
    ingest: processCpuSeconds(stack.ingest?.pid),
    redis: processCpuSeconds(stack.redisServer?.pid),
    database: databaseCpuSeconds(stack),
    bench: processCpuSeconds(process.pid),
    machine: machineCpu(),
  };
}

/** CPU seconds each part used between two snapshots, and the machine's busy share (all cores). */
export interface CpuBreakdown {
  wallS: number;
  sinksS: number;
  /** the database server's (PostgreSQL or MariaDB, as the run's options say) */
  databaseS: number;
  redisS: number;
  ingestS: number;
  benchS: number;
  interruptsS: number;
  otherS: number;
  stealS: number;
  machineBusyPct: number;
  /** the bare Fastify server's, in its ingest-phase run */
  bareServerS?: number;
}

/** Tenths of a second (NaN when a reading failed, null in the JSON). */
const tenths = (x: number): number => Number(x.toFixed(1));

export function cpuSince(a: CpuSnapshot, b: CpuSnapshot): CpuBreakdown {
  const wall = (b.at - a.at) / 1000;
  const machineBusy = b.machine.busy - a.machine.busy;
  const interrupts = b.machine.interrupts - a.machine.interrupts;
  const ours =
    b.sinks - a.sinks + (b.ingest - a.ingest) + (b.redis - a.redis) + (b.database - a.database) + (b.bench - a.bench);

  return {
    wallS: tenths(wall),
    sinksS: tenths(b.sinks - a.sinks),
    databaseS: tenths(b.database - a.database),
    redisS: tenths(b.redis - a.redis),
    ingestS: tenths(b.ingest - a.ingest),
    benchS: tenths(b.bench - a.bench),
    interruptsS: tenths(interrupts),
    otherS: tenths(Math.max(0, machineBusy - interrupts - ours)),
    stealS: tenths(b.machine.steal - a.machine.steal),
    machineBusyPct: Math.round((machineBusy / (b.machine.total - a.machine.total)) * 100),
  };
}
