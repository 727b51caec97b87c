import { DEFAULT_CONNECTION } from '@app/contracts';
import { connectionUrlVariable, Env, splitList } from './env.schema';
import { withSecretFiles } from './secret-files';

/** The settings a command-line tool reads, as the apps read them. */
export interface CommandEnv {
  databaseUrl: string;
  /** DATABASE_URL's connection (`default`, first), then those SPILLWAY_CONNECTIONS names; a URL not set is undefined. */
  connections: { name: string; url: string | undefined }[];
  collectionsDir: string;
  /** SINK_ENTITIES as a list (empty when unset); a command reports a path that does not exist when it loads it. */
  entityModules: string[];
}

/**
 * DATABASE_URL, the named connections, COLLECTIONS_DIR and SINK_ENTITIES with the apps' defaults (an empty variable counts as unset), for commands that
 * start no Nest app and so do not validate the whole environment. A URL may come from its `<NAME>_FILE`, as for the apps.
 */
export function readCommandEnv(given: Record<string, string | undefined> = process.env): CommandEnv {
  const raw = withSecretFiles(given);
  const defaults = new Env();
  const databaseUrl = raw.DATABASE_URL || defaults.DATABASE_URL;

  return {
    databaseUrl,
    connections: [
      { name: DEFAULT_CONNECTION, url: databaseUrl },
      ...splitList(raw.SPILLWAY_CONNECTIONS).map((name) => ({
        name,
        url: raw[connectionUrlVariable(name)] || undefined,
      })),
    ],
    collectionsDir: raw.COLLECTIONS_DIR || defaults.COLLECTIONS_DIR,
    entityModules: splitList(raw.SINK_ENTITIES),
  };
}
