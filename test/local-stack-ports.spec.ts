import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { findFreePort, LOOPBACK_HOST } from '../tools/local-stack';

/** Resolves once a server listens on `port` on loopback (and closes it again), rejects when the bind fails. */
function listenOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, LOOPBACK_HOST, () => server.close(() => resolve()));
  });
}

describe('findFreePort', () => {
  it('gives servers started at once distinct ports below the kernel ephemeral range, each free to bind', async () => {
    const [ephemeralStart] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);

    const ports = await Promise.all(Array.from({ length: 20 }, () => findFreePort()));

    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(Number(ephemeralStart));
    }
    await Promise.all(ports.map(listenOnce));
  });
});
