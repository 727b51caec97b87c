// Redis's own account of a drain's time, command by command (INFO commandstats), per stream entry: what reading,
// acknowledging and asking for versions each cost the server. A command that a Lua script calls is counted on its
// own and again inside the script's EVALSHA, so the figures do not add up to Redis's CPU time; what is left of that
// beyond the commands is reading requests and writing replies.
import { round } from './stats.mjs';

/**
 * @typedef {Record<string, { calls: number, usec: number }>} CommandStats  by command name (`xinfo|groups` for subcommands)
 * @typedef {{ command: string, callsPerEntry: number, usecPerEntry: number }} CommandCost
 */

/** @param {import('ioredis').Redis} redis @returns {Promise<CommandStats>} */
export async function commandStats(redis) {
  const text = await redis.info('commandstats');
  /** @type {CommandStats} */
  const stats = {};
  for (const [, name, calls, usec] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats[name] = { calls: Number(calls), usec: Number(usec) };
  }
  return stats;
}

/**
 * What each command cost between two snapshots, per entry settled, the most costly first.
 * @param {CommandStats} before @param {CommandStats} after @param {number} entries
 * @returns {CommandCost[]}
 */
export function commandsSince(before, after, entries) {
  if (entries <= 0) return [];
  return Object.entries(after)
    .map(([command, { calls, usec }]) => ({ command, calls: calls - (before[command]?.calls ?? 0), usec: usec - (before[command]?.usec ?? 0) }))
    .filter((c) => c.calls > 0)
    .sort((a, b) => b.usec - a.usec)
    .map((c) => ({ command: c.command, callsPerEntry: round(c.calls / entries, 3), usecPerEntry: round(c.usec / entries, 2) }));
}

/**
 * The commands worth a column in a table of several drains: the `n` that cost the most over all of them.
 * @param {CommandCost[][]} drains @param {number} n
 */
export function costliestCommands(drains, n) {
  const total = new Map();
  for (const costs of drains) for (const c of costs) total.set(c.command, (total.get(c.command) ?? 0) + c.usecPerEntry);
  return [...total].sort((a, b) => b[1] - a[1]).slice(0, n).map(([command]) => command);
}
