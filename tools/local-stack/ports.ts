import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';

/** Every server and app the local stack starts listens on loopback only. */
export const LOOPBACK_HOST = '127.0.0.1';

/** Ports below this are left alone: the usual homes of databases, caches and other services. */
const LOWEST_PORT = 10_000;

/** Ports this process handed out, so that servers started at once never get the same one. */
const handedOut = new Set<number>();

/**
 * The first port of the kernel's ephemeral range (Linux's ip_local_port_range; 32768 where it cannot be read).
 * Every outgoing connection takes its local port from that range, so a free port there can be taken by a client
 * between the moment it is found and the moment a server binds it ("Address already in use"). Below it, only a
 * listener can take a port.
 */
function ephemeralRangeStart(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const port = Number(low);

    return Number.isInteger(port) && port > LOWEST_PORT ? port : LOWEST_PORT;
  } catch {
    return 32_768;
  }
}

/** A port the kernel picks (inside its ephemeral range): the last resort when no port below it is free. */
function anyFreePort(): Promise<number> {
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

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, chosen at random below the kernel's ephemeral range
 * (so that no outgoing connection takes it before its server binds it) and never one this process handed out before.
 */
export async function findFreePort(): Promise<number> {
  const end = ephemeralRangeStart();
  for (let attempt = 0; attempt < 200 && end > LOWEST_PORT; attempt++) {
    const port = LOWEST_PORT + Math.floor(Math.random() * (end - LOWEST_PORT));
    if (handedOut.has(port) || !(await isPortFree(port))) continue;
    handedOut.add(port);

    return port;
  }
  const port = await anyFreePort();
  handedOut.add(port);

  return port;
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
