const COLORS = [36, 33, 35, 32, 34, 31];

/** `name | `, padded, in the index's colour on a terminal: the prefix of every line npm start prints. */
export function prefix(name: string, index: number): string {
  const label = `${name.padEnd(8)} | `;

  return process.stdout.isTTY ? `\x1b[${COLORS[index % COLORS.length]}m${label}\x1b[0m` : label;
}

/** A line from npm start itself. */
export function say(message: string): void {
  process.stdout.write(`${prefix('spillway', 0)}${message}\n`);
}

/** The variable's value, unless unset or empty. */
export function env(name: string): string | undefined {
  return process.env[name] || undefined;
}

/** An integer variable within bounds; `fallback` when unset or empty. */
export function intFromEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = env(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }

  return value;
}
