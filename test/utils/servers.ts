import { postgresControl, type PostgresServer } from '../../tools/local-stack';

/** The servers test/global-setup.ts started for this run. */
export interface TestServers {
  redisUrl: string;
  databaseUrl: string;
  /** redis-server's data folder (AOF) */
  redisDir: string;
  /** stop('fast' | 'immediate' | 'smart') and start() PostgreSQL mid-run; start() waits until it accepts connections */
  pg: PostgresServer;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the specs with Jest, whose global setup starts the servers`);

  return value;
}

/** Addresses and a PostgreSQL stop/start handle, from the environment global-setup set. */
export function testServers(): TestServers {
  return {
    redisUrl: requiredEnv('REDIS_URL'),
    databaseUrl: requiredEnv('DATABASE_URL'),
    redisDir: requiredEnv('SPILLWAY_TEST_REDIS_DIR'),
    pg: postgresControl({
      dir: requiredEnv('SPILLWAY_TEST_PG_DIR'),
      port: Number(requiredEnv('SPILLWAY_TEST_PG_PORT')),
    }),
  };
}
