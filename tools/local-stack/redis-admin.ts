// One-off commands to one redis-server of a local setup (a cluster node, a Sentinel's data node or a Sentinel), on a
// connection of their own that fails fast when the server is down.
import { Redis } from 'ioredis';
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
