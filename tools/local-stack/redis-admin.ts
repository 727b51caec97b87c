// One-off commands to one redis-server of a local setup (a cluster node, a Sentinel's data node or a Sentinel), on a
// connection of their own that fails fast when the server is down.
import { Redis } from 'ioredis';
import { sleep } from './commands';
import { LOOPBACK_HOST } from './ports';

/** Opens a connection to the server on `port`, runs `use`, closes it; fails fast when the server is down. */
export async function onRedisServer<T>(port: number, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    host: LOOPBACK_HOST,
    port,
    protocol: 2,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
    commandTimeout: 15_000,
  });
  client.on('error', () => undefined); // the command's own rejection says it
  try {
    await client.connect();

    return await use(client);
  } finally {
    client.disconnect();
  }
}

/** One command to the server on `port`. */
export function redisServerCommand(port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
  return onRedisServer(port, (client) => client.call(command, ...args));
}

/** One command to the server on `port`, its reply as text (INFO, CLUSTER NODES). */
export async function redisServerText(port: number, command: string, ...args: Array<string | number>): Promise<string> {
  return String(await redisServerCommand(port, command, ...args));
}

/** A field of an INFO reply. */
export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/** CLIENT KILL TYPE replica on the master on `port`: its replicas lose their link until they reconnect. */
export async function cutReplicaLinks(port: number): Promise<void> {
  await redisServerCommand(port, 'CLIENT', 'KILL', 'TYPE', 'replica');
}

/** Redis servers on loopback as ioredis takes them (cluster startup nodes, Sentinels). */
export function loopbackNodes(servers: readonly { port: number }[]): Array<{ host: string; port: number }> {
  return servers.map(({ port }) => ({ host: LOOPBACK_HOST, port }));
}

/** `127.0.0.1:port,…` of Redis servers on loopback, as REDIS_CLUSTER_NODES and REDIS_SENTINELS take them. */
export function loopbackAddresses(servers: readonly { port: number }[]): string {
  return servers.map(({ port }) => `${LOOPBACK_HOST}:${port}`).join(',');
}

/**
 * Polls `check` (undefined: done; a string: why not yet; a rejection counts as a reason) every 50 ms until done;
 * throws `<setup>: waited … for <what>; last: <reason>` when `timeoutMs` passes first.
 */
export async function waitUntilSettled(
  setup: string,
  what: string,
  check: () => Promise<string | undefined>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let reason: string | undefined = 'not checked';
  while (Date.now() < deadline) {
    reason = await check().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (reason === undefined) return;
    await sleep(50);
  }
  throw new Error(`${setup}: waited ${timeoutMs} ms for ${what}; last: ${reason}`);
}
