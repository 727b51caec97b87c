import { type AddressInfo, createServer } from 'node:net';

/** Every server and app the local stack starts listens on loopback only. */
export const LOOPBACK_HOST = '127.0.0.1';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` on 127.0.0.1 can be listened on. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK_HOST, () => server.close(() => resolve(true)));
  });
}

/** How a server's port is chosen. */
export interface PortChoice {
  /** this port, no questions asked */
  port?: number;
  /** the port to use when it is free, else any free port */
  preferredPort?: number;
}

/** `port` when given; else `preferredPort` when it is free; else a free port. */
export async function choosePort({ port, preferredPort }: PortChoice): Promise<number> {
  if (port !== undefined) return port;
  if (preferredPort !== undefined && (await isPortFree(preferredPort))) return preferredPort;

  return findFreePort();
}
