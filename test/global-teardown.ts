import { rmSync } from 'node:fs';

/**
 * Stops what global-setup started (PostgreSQL and MariaDB even if a spec stopped or restarted them) and removes
 * the temporary folder. Vitest calls it through the `teardown` that global-setup.ts re-exports.
 */
export async function teardown(): Promise<void> {
  const servers = globalThis.__SPILLWAY_SERVERS__;
  if (!servers) return;
  globalThis.__SPILLWAY_SERVERS__ = undefined;
  try {
    await Promise.all([servers.redis.stop(), servers.postgres.stop('fast'), servers.mariadb.stop('graceful')]);
  } finally {
    rmSync(servers.root, { recursive: true, force: true });
  }
}
