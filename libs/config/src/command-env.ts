import { Env } from './env.schema';

/** The settings a command-line tool reads, as the apps read them. */
export interface CommandEnv {
  databaseUrl: string;
  collectionsDir: string;
}

/**
 * DATABASE_URL and COLLECTIONS_DIR with the apps' defaults (an empty variable counts as unset), for commands that
 * start no Nest app and so do not validate the whole environment.
 */
export function readCommandEnv(raw: Record<string, string | undefined> = process.env): CommandEnv {
  const defaults = new Env();

  return {
    databaseUrl: raw.DATABASE_URL || defaults.DATABASE_URL,
    collectionsDir: raw.COLLECTIONS_DIR || defaults.COLLECTIONS_DIR,
  };
}
