// Redis's own account of a drain's time, command by command (INFO commandstats), per stream entry: what reading,
// acknowledging and asking for versions each cost the server. A command that a Lua script calls is counted on its
// own and again inside the script's EVALSHA, so the figures do not add up to Redis's CPU time; what is left of that
// beyond the commands is reading requests and writing replies.
import type { RedisClient } from '@app/redis';
import { round } from './stats';

/** By command name (`xinfo|groups` for subcommands). */
export type CommandStats = Record<string, { calls: number; usec: number }>;

export interface CommandCost {
  command: string;
  callsPerEntry: number | null;
  usecPerEntry: number | null;
}

export async function commandStats(redis: Pick<RedisClient, 'info'>): Promise<CommandStats> {
  const text = await redis.info('commandstats');
  const stats: CommandStats = {};
  for (const [, name, calls, usec] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats[name as string] = { calls: Number(calls), usec: Number(usec) };
  }

  return stats;
}

/** What each command cost between two snapshots, per entry settled, the most costly first. */
export function commandsSince(before: CommandStats, after: CommandStats, entries: number): CommandCost[] {
  if (entries <= 0) return [];

  return Object.entries(after)
    .map(([command, { calls, usec }]) => ({
      command,
      calls: calls - (before[command]?.calls ?? 0),
      usec: usec - (before[command]?.usec ?? 0),
    }))
    .filter((c) => c.calls > 0)
    .sort((a, b) => b.usec - a.usec)
    .map((c) => ({
      command: c.command,
      callsPerEntry: round(c.calls / entries, 3),
      usecPerEntry: round(c.usec / entries, 2),
    }));
}

/** The commands worth a column in a table of several drains: the `n` that cost the most over all of them. */
export function costliestCommands(drains: CommandCost[][], n: number): string[] {
  const total = new Map<string, number>();
  for (const costs of drains) {
    for (const c of costs) total.set(c.command, (total.get(c.command) ?? 0) + (c.usecPerEntry ?? 0));
  }

  return [...total]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([command]) => command);
}
