import { type Command, Option } from 'commander';
import { type CommandEnv, connectionUrlVariable, readCommandEnv } from '@app/config';
import { DEFAULT_CONNECTION } from '@app/contracts';

/** A database a command works on: a connection's name and URL. */
export interface ConnectionTarget {
  readonly name: string;
  readonly url: string;
}

/** A connection that cannot be worked on, as the one line the command prints. */
export class ConnectionTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * The options of a command that works on the databases: `--dir`, `--database-url` (the default connection's) and
 * `--connection <name>` (one connection alone instead of every one).
 */
export function withDatabaseOptions(command: Command): Command {
  const defaults = readCommandEnv({});

  return (
    command
      .addOption(
        new Option(
          '--dir <folder>',
          `folder of collection files (default: COLLECTIONS_DIR, else ${defaults.collectionsDir})`,
        ),
      )
      // The URL may hold a password: the help names the variable rather than printing its value.
      .addOption(
        new Option(
          '--database-url <url>',
          `the default connection's database (default: DATABASE_URL, else ${defaults.databaseUrl})`,
        ),
      )
      .addOption(
        new Option(
          '--connection <name>',
          'one connection alone (default, or a name of SPILLWAY_CONNECTIONS); default: every one',
        ),
      )
  );
}

/**
 * The connections a command works on: DATABASE_URL's (or `--database-url`'s) `default`, then each of
 * SPILLWAY_CONNECTIONS with its SPILLWAY_CONNECTION_<NAME>_URL; only `connection` when given. Throws a
 * {@link ConnectionTargetError} for an unknown name or a named connection whose URL is not set.
 */
export function connectionTargets(
  env: CommandEnv,
  options: { databaseUrl?: string; connection?: string },
): ConnectionTarget[] {
  const all = env.connections.map((c) =>
    c.name === DEFAULT_CONNECTION ? { ...c, url: options.databaseUrl ?? c.url } : c,
  );
  const chosen = options.connection === undefined ? all : all.filter((c) => c.name === options.connection);
  if (chosen.length === 0) {
    throw new ConnectionTargetError(
      `unknown connection "${options.connection ?? ''}" (connections: ${all.map((c) => c.name).join(', ')})`,
    );
  }

  return chosen.map(({ name, url }) => {
    if (url === undefined) {
      throw new ConnectionTargetError(
        `SPILLWAY_CONNECTIONS names ${name}, so ${connectionUrlVariable(name)} must be set`,
      );
    }

    return { name, url };
  });
}
