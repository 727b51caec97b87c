// A local Redis Sentinel setup: a primary, its replicas and three Sentinels on loopback, each in a folder of its own
// under one temporary folder. Sentinels are Debian's redis-server run as `redis-server <conf> --sentinel` (what the
// redis-sentinel package's binary is, a link to redis-server): nothing more to install.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureServerBinaries, findRedisServer } from './binaries';
import { findFreePort, LOOPBACK_HOST } from './ports';
import { untrack } from './processes';
import { type RedisFsync, type RedisServer, startRedis } from './redis';
import {
  cutReplicaLinks,
  infoField,
  loopbackAddresses,
  loopbackNodes,
  redisServerCommand,
  redisServerText,
  waitUntilSettled,
} from './redis-admin';

/** How startRedisSentinel() runs the setup. */
export interface RedisSentinelOptions {
  /** folder in which the setup's temporary folder is made; default os.tmpdir() */
  parentDir?: string;
  /** the master's name in the Sentinels' `sentinel monitor` line; default 'spillway' */
  masterName?: string;
  /** replicas of the primary; default 1 */
  replicas?: number;
  /** Sentinels; default 3 (a quorum of 2 and a majority to elect the leader of a failover) */
  sentinels?: number;
  /** `down-after-milliseconds`: how long the master may not answer before a Sentinel sees it down; default 1000 */
  downAfterMs?: number;
  /** `failover-timeout`; default 5000 */
  failoverTimeoutMs?: number;
  /** AOF on every data node (default true, as the test harness runs the single server) */
  appendOnly?: boolean;
  /** default 'everysec' */
  appendFsync?: RedisFsync;
  /** binary; default from the PATH (installed when missing) */
  redisServer?: string;
  /** how long the start, and each wait for the setup to settle, may take; default 30000 */
  timeoutMs?: number;
}

/** The role a data node reports (ROLE). */
export type SentinelNodeRole = 'master' | 'replica';

/** Pairs of a flat RESP2 reply (`[k1, v1, k2, v2, …]`) as a map. */
function pairs(reply: unknown): Map<string, string> {
  const list = Array.isArray(reply) ? (reply as unknown[]).map(String) : [];
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) map.set(list[i] as string, list[i + 1] as string);

  return map;
}

interface SentinelSetupSettings {
  dir: string;
  masterName: string;
  servers: RedisServer[];
  sentinels: RedisServer[];
  timeoutMs: number;
}

/**
 * A local Sentinel setup: data nodes (a primary and its replicas, redis-server with AOF) and Sentinels watching them;
 * see startRedisSentinel(). Which data node is the master changes with every failover: master() asks the Sentinels.
 * Settled means: every running Sentinel names the same running master, which says it is one (ROLE), has every other
 * running data node as a connected replica, and is known by each Sentinel with every other Sentinel and replica.
 */
export class RedisSentinelSetup {
  readonly dir: string;
  readonly masterName: string;
  /** the data nodes, the primary first */
  readonly servers: readonly RedisServer[];
  readonly sentinels: readonly RedisServer[];
  private readonly timeoutMs: number;

  constructor(settings: SentinelSetupSettings) {
    this.dir = settings.dir;
    this.masterName = settings.masterName;
    this.servers = settings.servers;
    this.sentinels = settings.sentinels;
    this.timeoutMs = settings.timeoutMs;
  }

  /** `127.0.0.1:port,…` of every Sentinel: the value for REDIS_SENTINELS */
  get sentinelAddresses(): string {
    return loopbackAddresses(this.sentinels);
  }

  /** every Sentinel as ioredis's `sentinels` option takes them */
  get sentinelNodes(): Array<{ host: string; port: number }> {
    return loopbackNodes(this.sentinels);
  }

  /** The data node on `port`; throws for a port that is not one of this setup's. */
  server(port: number): RedisServer {
    const server = this.servers.find((candidate) => candidate.port === port);
    if (!server) throw new Error(`port ${port} is not a data node of the Sentinel setup in ${this.dir}`);

    return server;
  }

  /** The port of the master as the Sentinel on `sentinelPort` names it (SENTINEL GET-MASTER-ADDR-BY-NAME). */
  async masterNamedBy(sentinelPort: number): Promise<number> {
    const reply = await redisServerCommand(sentinelPort, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName);
    const port = Number(Array.isArray(reply) ? reply[1] : undefined);
    if (!(port > 0)) throw new Error(`Sentinel ${sentinelPort} names no master ${this.masterName}`);

    return port;
  }

  /** The master the first running Sentinel that answers names (which may be a dead one, before the failover). */
  async masterPort(): Promise<number> {
    let lastError: unknown = new Error(`no Sentinel of the setup in ${this.dir} is running`);
    for (const sentinel of this.sentinels.filter((s) => s.running)) {
      try {
        return await this.masterNamedBy(sentinel.port);
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** The data node the Sentinels name master. */
  async master(): Promise<RedisServer> {
    return this.server(await this.masterPort());
  }

  /** The running data nodes other than the master the Sentinels name. */
  async replicas(): Promise<RedisServer[]> {
    const master = await this.masterPort();

    return this.servers.filter((server) => server.port !== master && server.running);
  }

  /**
   * Cuts the master off from its replicas, as a network would: each is paused (SIGSTOP) and the master drops their
   * links (CLIENT KILL TYPE replica), so what the master takes from then on never reaches them. Returns the replicas'
   * ports, for `resume()`.
   */
  async cutOffReplicas(): Promise<number[]> {
    const master = await this.masterPort();
    const replicas = await this.replicas();
    replicas.forEach((replica) => replica.kill('SIGSTOP'));
    await cutReplicaLinks(master);

    return replicas.map((replica) => replica.port);
  }

  /** SIGCONT to data nodes cutOffReplicas() paused. */
  resume(ports: readonly number[]): void {
    ports.forEach((port) => this.server(port).kill('SIGCONT'));
  }

  /** What a data node says it is (ROLE). */
  async roleOf(port: number): Promise<SentinelNodeRole> {
    const reply = (await redisServerCommand(port, 'ROLE')) as unknown[];

    return reply[0] === 'master' ? 'master' : 'replica';
  }

  /** SIGKILLs the master and waits for its exit; resolves with it (waitForFailover() waits for the Sentinels). */
  async killMaster(): Promise<RedisServer> {
    const master = await this.master();
    master.kill('SIGKILL');
    await master.exited;

    return master;
  }

  /**
   * After killMaster(): waits until the Sentinels have promoted a replica (down-after plus the election: about 2 to
   * 3 s with the defaults) and the setup has settled without the dead node; resolves with the new master.
   */
  async waitForFailover(fromPort: number, timeoutMs = this.timeoutMs): Promise<RedisServer> {
    await this.waitUntil(
      `a replica to take over from ${fromPort}`,
      async () => {
        const named = await this.masterPort();

        return named === fromPort ? `the Sentinels still name ${fromPort}` : this.settledProblem();
      },
      timeoutMs,
    );

    return this.master();
  }

  /**
   * `SENTINEL FAILOVER`: promotes a replica without the master's failure (the old master turns replica of it);
   * resolves with the new master once the setup has settled.
   */
  async promote(timeoutMs = this.timeoutMs): Promise<RedisServer> {
    const from = await this.masterPort();
    const sentinel = this.sentinels.find((s) => s.running);
    if (!sentinel) throw new Error(`no Sentinel of the setup in ${this.dir} is running`);
    // NOGOODSLAVE until the Sentinel has seen the replica healthy in its INFO (every 10 s), as after a restart().
    await this.waitUntil(
      'a Sentinel to accept SENTINEL FAILOVER',
      async () => {
        await redisServerCommand(sentinel.port, 'SENTINEL', 'FAILOVER', this.masterName);

        return undefined;
      },
      timeoutMs,
    );

    return this.waitForFailover(from, timeoutMs);
  }

  /**
   * Starts a killed data node again on its port and folder (its AOF reloaded) and makes it a replica of the current
   * master at once (REPLICAOF), which drops its old data for the master's: what the Sentinels would do themselves
   * about 10 s later (they wait to see it up), and what an operator's restart with `replicaof` does. Resolves once it
   * is a replica with its link up and the setup has settled.
   */
  async restart(port: number, timeoutMs = this.timeoutMs): Promise<void> {
    await this.server(port).start();
    const master = await this.masterPort();
    if (master !== port) await redisServerCommand(port, 'REPLICAOF', LOOPBACK_HOST, master);
    await this.waitUntil(
      `${port} to rejoin`,
      async () => {
        if (master === port) return this.settledProblem(); // restarted before a failover: still the master
        if ((await this.roleOf(port)) !== 'replica') return `${port} is still a master`;
        const link = infoField(await redisServerText(port, 'INFO', 'replication'), 'master_link_status');
        if (link !== 'up') return `replica ${port} has master_link_status ${link}`;

        return this.settledProblem();
      },
      timeoutMs,
    );
  }

  /** Waits until every running replica has applied everything the master had written when this was called. */
  async waitForReplication(timeoutMs = this.timeoutMs): Promise<void> {
    const master = await this.masterPort();
    const offset = Number(infoField(await redisServerText(master, 'INFO', 'replication'), 'master_repl_offset'));
    await this.waitUntil(
      'the replicas to catch up with the master',
      async () => {
        for (const replica of await this.replicas()) {
          const info = await redisServerText(replica.port, 'INFO', 'replication');
          const applied = Number(infoField(info, 'slave_repl_offset'));
          if (!(applied >= offset)) return `replica ${replica.port} is at offset ${applied} of ${offset}`;
        }

        return undefined;
      },
      timeoutMs,
    );
  }

  /** Waits until the setup has settled (see the class comment). */
  async waitUntilSettled(timeoutMs = this.timeoutMs): Promise<void> {
    await this.waitUntil('the Sentinel setup to settle', () => this.settledProblem(), timeoutMs);
  }

  /** Stops the Sentinels first (no failover while the data nodes go), then every data node; removes the folder. */
  async stop(): Promise<void> {
    const stopAll = async (handles: readonly RedisServer[]) =>
      Promise.allSettled(
        handles.map(async (handle) => {
          await handle.stop();
          untrack(handle);
        }),
      );
    const results = [...(await stopAll(this.sentinels)), ...(await stopAll(this.servers))];
    rmSync(this.dir, { recursive: true, force: true });
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Why the setup has not settled, or undefined when it has. */
  private async settledProblem(): Promise<string | undefined> {
    const runningSentinels = this.sentinels.filter((s) => s.running);
    const runningServers = this.servers.filter((s) => s.running);
    let master: number | undefined;
    for (const sentinel of runningSentinels) {
      const named = await this.masterNamedBy(sentinel.port);
      if (master !== undefined && named !== master) {
        return `Sentinels ${sentinel.port} and others disagree on the master`;
      }
      master = named;
      const view = pairs(await redisServerCommand(sentinel.port, 'SENTINEL', 'MASTER', this.masterName));
      const flags = view.get('flags') ?? '';
      if (flags !== 'master') return `Sentinel ${sentinel.port} flags the master ${flags}`;
      const others = Number(view.get('num-other-sentinels'));
      if (others < runningSentinels.length - 1) return `Sentinel ${sentinel.port} knows ${others} other Sentinels`;
      const replicas = Number(view.get('num-slaves'));
      if (replicas < runningServers.length - 1) return `Sentinel ${sentinel.port} knows ${replicas} replicas`;
    }
    if (master === undefined) return 'no Sentinel is running';
    if (!runningServers.some((server) => server.port === master)) return `the Sentinels name ${master}, which is down`;
    if ((await this.roleOf(master)) !== 'master') return `${master} is not a master yet`;
    const info = await redisServerText(master, 'INFO', 'replication');
    const connected = Number(infoField(info, 'connected_slaves'));
    if (connected < runningServers.length - 1) {
      return `master ${master} has ${connected} of ${runningServers.length - 1} replicas connected`;
    }

    return undefined;
  }

  /** Polls `check` (undefined: done; a string: why not yet) every 50 ms until done; throws with the last reason. */
  private async waitUntil(what: string, check: () => Promise<string | undefined>, timeoutMs: number): Promise<void> {
    await waitUntilSettled(`Sentinel setup in ${this.dir}`, what, check, timeoutMs);
  }
}

/** A Sentinel's config file: what it monitors (startRedis gives the port, folder and the rest as options). */
function sentinelConfig(master: {
  name: string;
  port: number;
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
}): string {
  return [
    `sentinel monitor ${master.name} ${LOOPBACK_HOST} ${master.port} ${master.quorum}`,
    `sentinel down-after-milliseconds ${master.name} ${master.downAfterMs}`,
    `sentinel failover-timeout ${master.name} ${master.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${master.name} 1`,
    '',
  ].join('\n');
}

/** Options every data node runs with: a (re)joining replica's full sync starts at once, not after 5 s. */
const DATA_NODE_ARGS = ['--repl-diskless-sync-delay', '0'];

/**
 * Starts a Sentinel setup on 127.0.0.1 in a new temporary folder: the primary, `replicas` replicas of it (REPLICAOF at
 * start), then the Sentinels (`sentinel monitor <name> <primary> <quorum>`, quorum a majority of them), and waits until
 * it has settled (the Sentinels found each other and the replicas: a few seconds). Every process is tracked like the
 * other local servers (stopped with the owner).
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelSetup> {
  const redisServer = options.redisServer ?? findRedisServer() ?? ensureServerBinaries().redisServer;
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'spillway-redis-sentinel-'));
  const masterName = options.masterName ?? 'spillway';
  const sentinelCount = options.sentinels ?? 3;
  const dataOptions = {
    redisServer,
    appendOnly: options.appendOnly ?? true,
    appendFsync: options.appendFsync ?? 'everysec',
  } as const;
  const servers: RedisServer[] = [];
  const sentinels: RedisServer[] = [];
  const setup = new RedisSentinelSetup({ dir, masterName, servers, sentinels, timeoutMs: options.timeoutMs ?? 30_000 });
  try {
    const primaryPort = await findFreePort();
    servers.push(
      await startRedis({
        ...dataOptions,
        dir: join(dir, `node-${primaryPort}`),
        port: primaryPort,
        extraArgs: DATA_NODE_ARGS,
      }),
    );
    for (let i = 0; i < (options.replicas ?? 1); i += 1) {
      const port = await findFreePort();
      const replicaOf = ['--replicaof', LOOPBACK_HOST, String(primaryPort)];
      servers.push(
        await startRedis({
          ...dataOptions,
          dir: join(dir, `node-${port}`),
          port,
          extraArgs: [...DATA_NODE_ARGS, ...replicaOf],
        }),
      );
    }
    const master = {
      name: masterName,
      port: primaryPort,
      quorum: Math.floor(sentinelCount / 2) + 1,
      downAfterMs: options.downAfterMs ?? 1000,
      failoverTimeoutMs: options.failoverTimeoutMs ?? 5000,
    };
    for (let i = 0; i < sentinelCount; i += 1) {
      const port = await findFreePort();
      const sentinelDir = join(dir, `sentinel-${port}`);
      const configFile = join(sentinelDir, 'sentinel.conf');
      mkdirSync(sentinelDir, { recursive: true });
      writeFileSync(configFile, sentinelConfig(master)); // the Sentinel rewrites it as it learns the setup
      sentinels.push(await startRedis({ redisServer, dir: sentinelDir, port, configFile, extraArgs: ['--sentinel'] }));
    }
    await setup.waitUntilSettled();
  } catch (error) {
    await setup.stop().catch(() => undefined);
    throw error;
  }

  return setup;
}
