import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureServerBinaries,
  type MariadbServer,
  type PostgresServer,
  type RedisServer,
  startMariadb,
  startPostgres,
  startRedis,
  stopAll,
  stopAllOnSignals,
} from '../tools/local-stack';

export { teardown } from './global-teardown';

/** What global-setup started; global-teardown stops it. */
export interface SpillwayTestServers {
  root: string;
  redis: RedisServer;
  postgres: PostgresServer;
  mariadb: MariadbServer;
}

declare global {
  var __SPILLWAY_SERVERS__: SpillwayTestServers | undefined;
}

/**
 * Starts one redis-server, one PostgreSQL and one MariaDB for the whole run, in a temporary folder, and hands their
 * addresses to the specs through the environment, which the test workers inherit (read it with
 * test/utils/servers.ts). DATABASE_URL stays PostgreSQL's; SPILLWAY_TEST_MARIADB_URL is MariaDB's.
 */
export async function setup(): Promise<void> {
  ensureServerBinaries();
  const root = mkdtempSync(join(tmpdir(), 'spillway-test-'));
  chmodSync(root, 0o755); // PostgreSQL and MariaDB run as users postgres and mysql and must enter it
  stopAllOnSignals(() => rmSync(root, { recursive: true, force: true }));
  try {
    const [redis, postgres, mariadb] = await Promise.all([
      startRedis({ dir: join(root, 'redis'), appendOnly: true, appendFsync: 'everysec' }),
      startPostgres({ dir: join(root, 'postgres'), durable: false }),
      startMariadb({ dir: join(root, 'mariadb'), durable: false }),
    ]);
    process.env.LOG_LEVEL ??= 'warn'; // in-process apps: keep the test output readable
    Object.assign(process.env, {
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
      SPILLWAY_TEST_REDIS_DIR: redis.dir,
      SPILLWAY_TEST_REDIS_PORT: String(redis.port),
      SPILLWAY_TEST_PG_DIR: postgres.dir,
      SPILLWAY_TEST_PG_PORT: String(postgres.port),
      SPILLWAY_TEST_MARIADB_URL: mariadb.url,
      SPILLWAY_TEST_MARIADB_DIR: mariadb.dir,
      SPILLWAY_TEST_MARIADB_PORT: String(mariadb.port),
    });
    globalThis.__SPILLWAY_SERVERS__ = { root, redis, postgres, mariadb };
  } catch (error) {
    await stopAll().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}
