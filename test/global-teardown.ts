import { rmSync } from 'node:fs';

/**
 * Stops what global-setup started (PostgreSQL even if a spec left it stopped) and removes the temporary folder.
 * Vitest calls it through the `teardown` that global-setup.ts re-exports.
 */
export async function teardown(): Promise<void> {
  const servers = globalThis.__SPILLWAY_SERVERS__;
  if (!servers) return;
  globalThis.__SPILLWAY_SERVERS__ = undefined;
  try {
    await Promise.all([servers.redis.stop(), servers.postgres.stop('fast')]);
  } finally {
    rmSync(servers.root, { recursive: true, force: true });
  }
}
