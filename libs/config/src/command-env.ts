import { Env, splitPathList } from './env.schema';

/** The settings a command-line tool reads, as the apps read them. */
export interface CommandEnv {
  databaseUrl: string;
  collectionsDir: string;
  /** SINK_ENTITIES as a list (empty when unset); a command reports a path that does not exist when it loads it. */
  entityModules: string[];
}

/**
 * DATABASE_URL, COLLECTIONS_DIR and SINK_ENTITIES with the apps' defaults (an empty variable counts as unset), for commands that
 * start no Nest app and so do not validate the whole environment.
 */
export function readCommandEnv(raw: Record<string, string | undefined> = process.env): CommandEnv {
  const defaults = new Env();

  return {
    databaseUrl: raw.DATABASE_URL || defaults.DATABASE_URL,
    collectionsDir: raw.COLLECTIONS_DIR || defaults.COLLECTIONS_DIR,
    entityModules: splitPathList(raw.SINK_ENTITIES),
  };
}
