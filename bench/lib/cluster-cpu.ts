// CPU seconds by part of the cluster bench's stack (ingest, sinks, the cluster's masters and replicas, the one
// redis-server, PostgreSQL, the bench itself), and what the rest of the machine did meanwhile: other people's work on a
// shared machine, the kernel's interrupts, and host steal. The parts are named groups of processes, read anew at each
// snapshot, so processes that come and go between runs (sinks) are counted while they live.
import { machineCpu, type MachineCpu, processCpuSeconds } from './cpu';

/** The parts the cluster bench counts. */
export const CPU_PARTS = [
  'ingest',
  'sinks',
  'redisMasters',
  'redisReplicas',
  'redisSingle',
  'database',
  'bench',
] as const;
export type CpuPart = (typeof CPU_PARTS)[number];

/** How to find each part's CPU seconds so far: its processes' pids, or a reading of its own (PostgreSQL's tree). */
export type CpuSources = Record<CpuPart, () => number>;

/** The CPU seconds of processes by pid (0 for one that is gone or not started). */
export const pidsCpuSeconds = (pids: (number | undefined)[]): number =>
  pids.reduce<number>((n, pid) => n + processCpuSeconds(pid), 0);

export interface PartsSnapshot {
  at: number;
  parts: Record<CpuPart, number>;
  machine: MachineCpu;
}

export function partsSnapshot(sources: CpuSources): PartsSnapshot {
  const parts = Object.fromEntries(CPU_PARTS.map((part) => [part, sources[part]()])) as Record<CpuPart, number>;

  return { at: Date.now(), parts, machine: machineCpu() };
}

/** What each part used between two snapshots, and the machine's share of it all. */
export interface PartsBreakdown {
  wallS: number;
  /** CPU seconds of each part */
  parts: Record<CpuPart, number>;
  /** the machine's busy time that none of the parts (nor the kernel's interrupts) account for: other work */
  otherS: number;
  interruptsS: number;
  stealS: number;
  /** busy share of all cores over the wall time */
  machineBusyPct: number;
}

const tenths = (x: number): number => Number(x.toFixed(1));

export function partsSince(a: PartsSnapshot, b: PartsSnapshot): PartsBreakdown {
  const parts = Object.fromEntries(CPU_PARTS.map((part) => [part, tenths(b.parts[part] - a.parts[part])])) as Record<
    CpuPart,
    number
  >;
  const ours = CPU_PARTS.reduce((n, part) => n + (b.parts[part] - a.parts[part]), 0);
  const busy = b.machine.busy - a.machine.busy;
  const interrupts = b.machine.interrupts - a.machine.interrupts;

  return {
    wallS: tenths((b.at - a.at) / 1000),
    parts,
    otherS: tenths(Math.max(0, busy - interrupts - ours)),
    interruptsS: tenths(interrupts),
    stealS: tenths(b.machine.steal - a.machine.steal),
    machineBusyPct: Math.round((busy / (b.machine.total - a.machine.total)) * 100),
  };
}

/** Microseconds of CPU a unit (a write, an entry, a row), to a tenth; null without units. */
export const usPer = (cpuSeconds: number, units: number): number | null =>
  units > 0 ? Number(((cpuSeconds * 1e6) / units).toFixed(1)) : null;
