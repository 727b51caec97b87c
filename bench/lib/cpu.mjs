// CPU time from /proc, to say where a phase's time went: the sinks, PostgreSQL (postmaster and its backends),
// Redis, ingest, the kernel's interrupt work, the rest of the machine (other people's work on a shared machine), and
// the time the hypervisor gave this machine's cores to other guests (steal).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime + cutime + cstime of one process, in seconds; 0 when gone. @param {number | undefined} pid */
export function processCpuSeconds(pid) {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is the state (field 3); utime is field 14, stime 15, cutime 16, cstime 17
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** A process and its live children (PostgreSQL's backends), in seconds. @param {number | undefined} pid */
export function treeCpuSeconds(pid) {
  if (!pid) return 0;
  let total = processCpuSeconds(pid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) total += processCpuSeconds(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/** The postmaster's pid from its data folder. @param {string} dir */
export function postmasterPid(dir) {
  try {
    return Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine so far. */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  // irq + softirq: the kernel's own work (loopback TCP for the most part), which no process is charged for
  const interrupts = line[5] + line[6];
  // steal: time a core of this virtual machine was ready to run while the host ran something else
  const steal = line[7] ?? 0;
  return {
    busy: (total - idle - steal) / TICKS_PER_SECOND,
    total: total / TICKS_PER_SECOND,
    interrupts: interrupts / TICKS_PER_SECOND,
    steal: steal / TICKS_PER_SECOND,
  };
}

/**
 * Snapshot of the CPU seconds used so far by each part of the stack; `cpuSince` turns two into a breakdown.
 * @param {import('../../scripts/lib/stack.mjs').Stack} stack
 * @param {{ pid?: number }[]} sinks
 */
export function cpuSnapshot(stack, sinks) {
  return {
    at: Date.now(),
    sinks: sinks.reduce((n, s) => n + processCpuSeconds(s.pid), 0),
    ingest: processCpuSeconds(stack.ingest?.pid),
    redis: processCpuSeconds(stack.redisServer?.pid),
    postgres: treeCpuSeconds(postmasterPid(stack.postgresServer?.dir ?? '')),
    bench: processCpuSeconds(process.pid),
    machine: machineCpu(),
  };
}

/**
 * CPU seconds each part used between two snapshots, and the machine's busy share (all cores).
 * @param {ReturnType<typeof cpuSnapshot>} a @param {ReturnType<typeof cpuSnapshot>} b
 */
export function cpuSince(a, b) {
  const r = (x) => Number(x.toFixed(1));
  const wall = (b.at - a.at) / 1000;
  const machineBusy = b.machine.busy - a.machine.busy;
  const interrupts = b.machine.interrupts - a.machine.interrupts;
  const ours = b.sinks - a.sinks + (b.ingest - a.ingest) + (b.redis - a.redis) + (b.postgres - a.postgres) + (b.bench - a.bench);
  return {
    wallS: r(wall),
    sinksS: r(b.sinks - a.sinks),
    postgresS: r(b.postgres - a.postgres),
    redisS: r(b.redis - a.redis),
    ingestS: r(b.ingest - a.ingest),
    benchS: r(b.bench - a.bench),
    interruptsS: r(interrupts),
    otherS: r(Math.max(0, machineBusy - interrupts - ours)),
    stealS: r(b.machine.steal - a.machine.steal),
    machineBusyPct: Math.round((machineBusy / (b.machine.total - a.machine.total)) * 100),
  };
}
