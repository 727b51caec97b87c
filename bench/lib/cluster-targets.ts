// The two Redis setups the cluster bench compares: one redis-server, and the masters of a local Redis Cluster. Each
// with the ports and pids of the servers that take the writes, a client for the bench (the scripts defined), and the
// ingest process that writes into it.
import { Redis } from 'ioredis';
import { defineSpillwayScripts, type RedisClient } from '@app/redis';
import {
  type AppProcess,
  LOOPBACK_HOST,
  type RedisClusterServer,
  type RedisServer,
  slotOfKey,
} from '../../tools/local-stack';
import type { CpuPart } from './cluster-cpu';
import { type CommandCost, type CommandStats, commandStats } from './redis-commands';

/** A server that takes writes: one redis-server, or one master of the cluster. */
export interface WriteServer {
  port: number;
  /** inclusive slot ranges it serves ([0, 16383] for one server) */
  slots: Array<[number, number]>;
}

export interface RedisTarget {
  /** `1 server`, `3 masters` */
  label: string;
  servers: WriteServer[];
  /** the CPU part of the servers that take the writes */
  cpuPart: Extract<CpuPart, 'redisSingle' | 'redisMasters'>;
  /** a client of the whole setup (a cluster client on the cluster), the scripts defined */
  client: RedisClient;
  ingest: AppProcess;
}

/** Whether the server serves the slot of `key`. */
export const servesKey = (server: WriteServer, key: string): boolean => {
  const slot = slotOfKey(key);

  return server.slots.some(([start, end]) => start <= slot && slot <= end);
};

/** A direct connection to one server (a master of the cluster answers for the slots it serves), scripts defined. */
export function connectToServer(server: WriteServer): Redis {
  return defineSpillwayScripts(
    new Redis({ host: LOOPBACK_HOST, port: server.port, protocol: 2, maxRetriesPerRequest: null }),
  );
}

export function singleServerTarget(server: RedisServer, client: RedisClient, ingest: AppProcess): RedisTarget {
  return {
    label: '1 server',
    servers: [{ port: server.port, slots: [[0, 16_383]] }],
    cpuPart: 'redisSingle',
    client: defineSpillwayScripts(client),
    ingest,
  };
}

/** The cluster's masters as they are now (the bench moves no slot and fails no node over). */
export async function clusterTarget(
  cluster: RedisClusterServer,
  client: RedisClient,
  ingest: AppProcess,
): Promise<RedisTarget> {
  const masters = await cluster.masters();

  return {
    label: `${masters.length} masters`,
    servers: masters.map(({ port, slots }) => ({ port, slots })).sort((a, b) => a.port - b.port),
    cpuPart: 'redisMasters',
    client: defineSpillwayScripts(client),
    ingest,
  };
}

/** How many of `keys` each server holds, in the order of `servers`. */
export function spreadOver(servers: WriteServer[], keys: string[]): number[] {
  return servers.map((server) => keys.filter((key) => servesKey(server, key)).length);
}

/** INFO commandstats of every server of the target, summed by command (each server on a connection of its own). */
export async function targetCommandStats(target: Pick<RedisTarget, 'servers'>): Promise<CommandStats> {
  const perServer = await Promise.all(
    target.servers.map(async (server) => {
      const client = connectToServer(server);
      try {
        return await commandStats(client);
      } finally {
        client.disconnect();
      }
    }),
  );
  const total: CommandStats = {};
  for (const stats of perServer) {
    for (const [command, { calls, usec }] of Object.entries(stats)) {
      const sum = (total[command] ??= { calls: 0, usec: 0 });
      sum.calls += calls;
      sum.usec += usec;
    }
  }

  return total;
}

/** The costliest commands of a run, as a table cell: `evalsha 1 (9.5 µs)`, calls and Redis's µs a unit. */
export const commandsCell = (costs: CommandCost[], n = 3): string =>
  costs
    .slice(0, n)
    .map((c) => `${c.command} ${c.callsPerEntry} (${c.usecPerEntry} µs)`)
    .join(', ');
