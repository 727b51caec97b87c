// The --db flag of the chaos and soak runs.
import { DATABASE_KINDS, type DatabaseKind } from '../local-stack';

/** What the flag says in a tool's usage. */
export const DATABASE_FLAG_HELP = `${DATABASE_KINDS.join(' (default) or ')}: the database the sinks write to`;

/** The --db value; throws (bad usage) on another. */
export function readDatabaseFlag(value: string): DatabaseKind {
  const kind = DATABASE_KINDS.find((k) => k === value);
  if (kind === undefined) throw new Error(`--db must be ${DATABASE_KINDS.join(' or ')}, got "${value}"`);

  return kind;
}
