// Resident memory of the row-bound bench's processes after each drain: the apps (AppProcess.rssBytes), Redis, and the
// database server (PostgreSQL's postmaster and backends, each a process; mariadbd, one process).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stack } from '../../tools/local-stack';
import { mb } from './stats';

/** VmRSS of a process in bytes; undefined when it is gone. */
export function rssBytes(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));

    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The parent pid of a process; undefined when it is gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');

    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function pidInFile(file: string): number | undefined {
  try {
    return Number(readFileSync(file, 'utf8').split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

/** The database server's processes: PostgreSQL's postmaster and its children, or mariadbd. */
function databasePids(stack: Stack): number[] {
  const server = stack.databaseServer;
  if (!server) return [];
  if (server.kind === 'mariadb') return [pidInFile(join(server.dir, 'mariadbd.pid'))].flatMap((p) => (p ? [p] : []));
  const postmaster = pidInFile(join(server.dir, 'postmaster.pid'));
  if (!postmaster) return [];
  const children = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => parentOf(pid) === postmaster);

  return [postmaster, ...children];
}

/** RSS in MiB of each process of the stack now; the database's as its largest process and all of them summed. */
export interface StackRss {
  sinksMb: (number | null)[];
  ingestMb: number | null;
  redisMb: number | null;
  /** the database server's largest process (PostgreSQL's RSS counts the shared buffers each backend touched) */
  databaseMaxMb: number | null;
  databaseTotalMb: number | null;
  databaseProcesses: number;
}

/** Every process's RSS now, the sinks' as given (read before they stopped). */
export function stackRss(stack: Stack, sinksBytes: (number | null)[]): StackRss {
  const database = databasePids(stack).map((pid) => rssBytes(pid) ?? 0);

  return {
    sinksMb: sinksBytes.map(mb),
    ingestMb: mb(stack.ingest?.rssBytes()),
    redisMb: mb(rssBytes(stack.redisServer?.pid)),
    databaseMaxMb: database.length ? mb(Math.max(...database)) : null,
    databaseTotalMb: database.length ? mb(database.reduce((a, b) => a + b, 0)) : null,
    databaseProcesses: database.length,
  };
}
