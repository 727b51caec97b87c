import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** A PostgreSQL database of a spec's own, on the test server: its name and URL; `create()` makes it, `drop()` ends it. */
export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  create(): Promise<void>;
  drop(): Promise<void>;
}

/** A {@link ScratchDatabase} named `<prefix>_<random hex>` on the server of `serverUrl`. */
export function scratchPostgresDatabase(serverUrl: string, prefix: string): ScratchDatabase {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  return {
    name,
    url: url.toString(),
    create: () => admin(`CREATE DATABASE ${name}`),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
