import {
  type DatabaseKind,
  type DatabaseServer,
  databaseServerOf,
  mariadbControl,
  type MariadbServer,
  postgresControl,
  type PostgresServer,
} from '../../tools/local-stack';

/** The servers test/global-setup.ts started for this run. */
export interface TestServers {
  redisUrl: string;
  databaseUrl: string;
  /** redis-server's data folder (AOF) */
  redisDir: string;
  /** stop('fast' | 'immediate' | 'smart') and start() PostgreSQL mid-run; start() waits until it accepts connections */
  pg: PostgresServer;
  /** `mysql://spillway:spillway@127.0.0.1:<port>/spillway` (user and password: MARIADB_USER, MARIADB_PASSWORD) */
  mariadbUrl: string;
  /** stop('graceful' | 'admin' | 'kill') and start() MariaDB mid-run; start() waits until it accepts connections */
  mariadb: MariadbServer;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the specs with Vitest, whose global setup starts the servers`);

  return value;
}

/** Addresses and PostgreSQL and MariaDB stop/start handles, from the environment global-setup set. */
export function testServers(): TestServers {
  return {
    redisUrl: requiredEnv('REDIS_URL'),
    databaseUrl: requiredEnv('DATABASE_URL'),
    redisDir: requiredEnv('SPILLWAY_TEST_REDIS_DIR'),
    pg: postgresControl({
      dir: requiredEnv('SPILLWAY_TEST_PG_DIR'),
      port: Number(requiredEnv('SPILLWAY_TEST_PG_PORT')),
    }),
    mariadbUrl: requiredEnv('SPILLWAY_TEST_MARIADB_URL'),
    mariadb: mariadbControl({
      dir: requiredEnv('SPILLWAY_TEST_MARIADB_DIR'),
      port: Number(requiredEnv('SPILLWAY_TEST_MARIADB_PORT')),
    }),
  };
}

/** The PostgreSQL or the MariaDB of this run as a kind-neutral handle: stop, start, URL, reader. */
export function testDatabase(kind: DatabaseKind): DatabaseServer {
  const { pg, mariadb } = testServers();

  return databaseServerOf(kind === 'postgres' ? pg : mariadb);
}
