import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { ensureServerBinaries, findRedisServer, isExecutable, which } from './binaries';
import { runOrThrow } from './commands';
import { findFreePort, LOOPBACK_HOST } from './ports';
import { untrack } from './processes';
import {
  cutReplicaLinks,
  infoField,
  loopbackAddresses,
  loopbackNodes,
  onRedisServer,
  redisServerCommand,
  redisServerText,
  waitUntilSettled,
} from './redis-admin';
import { type RedisFsync, type RedisServer, startRedis } from './redis';

/** Redis Cluster has slots 0 to 16383. */
export const CLUSTER_SLOTS = 16_384;

/** The Redis Cluster slot of a key (hash tags honoured), as every cluster client computes it. */
export function slotOfKey(key: string): number {
  return calculateSlot(key);
}

/** How startRedisCluster() runs the cluster. */
export interface RedisClusterOptions {
  /** folder in which the cluster's temporary folder is made; default os.tmpdir() */
  parentDir?: string;
  /** default 3 (Redis Cluster's minimum) */
  masters?: number;
  /** default 1 */
  replicasPerMaster?: number;
  /** cluster-node-timeout; default 2000 (a failover then takes about 3 s) */
  nodeTimeoutMs?: number;
  /** AOF on (default true, as the test harness runs the single server) */
  appendOnly?: boolean;
  /** default 'everysec' */
  appendFsync?: RedisFsync;
  /** binary; default from the PATH (installed when missing); redis-cli is looked up beside it */
  redisServer?: string;
  /** how long the start, and each wait for the cluster to settle, may take; default 30000 */
  timeoutMs?: number;
}

export type ClusterRole = 'master' | 'replica';

/** One redis-server of the cluster. */
export interface RedisClusterNode {
  readonly port: number;
  /** the cluster bus port (`cluster-port`) */
  readonly busPort: number;
  /** the node id; nodes.conf keeps it across restarts */
  readonly id: string;
  readonly server: RedisServer;
  /** as of the last read of CLUSTER NODES (every method below that reads the topology refreshes it) */
  role: ClusterRole;
}

/** One line of CLUSTER NODES, as the node asked sees that node. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: ClusterRole;
  /** the master's id, for a replica */
  masterId?: string;
  /** flagged `fail` or `fail?` */
  failing: boolean;
  /** the slots it serves, as inclusive ranges */
  slots: Array<[number, number]>;
  /** slots being imported or migrated (`[slot-<-id]`, `[slot->-id]`) */
  openSlots: number;
  /** `handshake` or `noaddr`: not a settled member yet */
  joining: boolean;
}

/** Which slots redis-cli moves in reshard(): ports of two masters. */
export interface ReshardRequest {
  from: number;
  to: number;
  slots: number;
}

interface RedisClusterSettings {
  dir: string;
  redisCli: string;
  nodes: RedisClusterNode[];
  timeoutMs: number;
}

/** Parses CLUSTER NODES (`<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>…`). */
export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = '', address = '', flagList = '', master = '-', , , , , ...slotFields] = line.split(' ');
      const flags = new Set(flagList.split(','));
      const ranges = slotFields.filter((field) => !field.startsWith('['));

      return {
        id,
        port: Number(/:(\d+)@/.exec(address)?.[1] ?? 0),
        role: flags.has('master') ? 'master' : 'replica',
        ...(master === '-' ? {} : { masterId: master }),
        failing: flags.has('fail') || flags.has('fail?'),
        slots: ranges.map((range) => {
          const [start = 0, end = start] = range.split('-').map(Number);

          return [start, end];
        }),
        openSlots: slotFields.length - ranges.length,
        joining: flags.has('handshake') || flags.has('noaddr'),
      };
    });
}

function slotCount(slots: Array<[number, number]>): number {
  return slots.reduce((sum, [start, end]) => sum + end - start + 1, 0);
}

/** Why one node's CLUSTER NODES shows an unsettled cluster, or undefined when it does not. */
function viewProblem(views: ClusterNodeInfo[], expectedNodes: number, runningIds: Set<string>): string | undefined {
  if (views.length !== expectedNodes) return `knows ${views.length} of ${expectedNodes} nodes`;
  if (views.some((view) => view.joining)) return 'has a node still joining';
  if (views.some((view) => view.openSlots > 0)) return 'has a slot being migrated';
  const failing = views.find((view) => runningIds.has(view.id) && view.failing);
  if (failing) return `sees running node ${failing.port} failing`;
  const covered = slotCount(views.flatMap((view) => view.slots));
  if (covered !== CLUSTER_SLOTS) return `sees ${covered} of ${CLUSTER_SLOTS} slots served`;
  const orphaned = views.find((view) => view.slots.length > 0 && (view.failing || !runningIds.has(view.id)));

  return orphaned ? `sees slots served by node ${orphaned.port}, which is down` : undefined;
}

/** One node's slot map and the roles of the running nodes, as a string to compare with the other nodes'. */
function viewSignature(views: ClusterNodeInfo[], runningIds: Set<string>): string {
  const portOf = new Map(views.map((view) => [view.id, view.port]));
  const slotMap = views
    .flatMap((view) => view.slots.map(([start, end]) => ({ start, end, port: view.port })))
    .sort((a, b) => a.start - b.start)
    .map(({ start, end, port }) => `${start}-${end}@${port}`);
  const roles = views
    .filter((view) => runningIds.has(view.id))
    .map((view) => `${view.port}:${view.role}:${view.masterId ? portOf.get(view.masterId) : ''}`)
    .sort();

  return `${slotMap.join(',')} ${roles.join(',')}`;
}

/**
 * A local Redis Cluster: redis-server processes in cluster mode on loopback, each in its own folder under one
 * temporary folder; see startRedisCluster(). Every method that changes the cluster waits until it has settled:
 * every running node answers `cluster_state:ok`, knows every node, sees no running node failing and no slot being
 * migrated, every slot is served by a running master, and all running nodes agree on the slot map and the roles.
 */
export class RedisClusterServer {
  readonly dir: string;
  readonly nodes: readonly RedisClusterNode[];
  private readonly redisCli: string;
  private readonly timeoutMs: number;

  constructor(settings: RedisClusterSettings) {
    this.dir = settings.dir;
    this.nodes = settings.nodes;
    this.redisCli = settings.redisCli;
    this.timeoutMs = settings.timeoutMs;
  }

  /** `127.0.0.1:port,127.0.0.1:port,…` of every node: the value for REDIS_CLUSTER_NODES */
  get seedNodes(): string {
    return loopbackAddresses(this.nodes);
  }

  /** every node as ioredis's `new Cluster(startupNodes)` takes them */
  get startupNodes(): Array<{ host: string; port: number }> {
    return loopbackNodes(this.nodes);
  }

  /** The node on `port`; throws for a port that is not one of this cluster's. */
  node(port: number): RedisClusterNode {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`port ${port} is not a node of the Redis Cluster in ${this.dir}`);

    return node;
  }

  private runningNodes(): RedisClusterNode[] {
    return this.nodes.filter(({ server }) => server.running);
  }

  /** CLUSTER NODES as the node on `port` sees it (default: the first running node that answers). */
  async topology(port?: number): Promise<ClusterNodeInfo[]> {
    const candidates = port === undefined ? this.runningNodes().map((node) => node.port) : [port];
    let lastError: unknown = new Error(`no node of the Redis Cluster in ${this.dir} is running`);
    for (const candidate of candidates) {
      try {
        const views = parseClusterNodes(await redisServerText(candidate, 'CLUSTER', 'NODES'));
        for (const view of views) {
          const node = this.nodes.find(({ id }) => id === view.id);
          if (node) node.role = view.role;
        }

        return views;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** The masters not flagged failing, read live from CLUSTER NODES. */
  async masters(): Promise<ClusterNodeInfo[]> {
    return (await this.topology()).filter((view) => view.role === 'master' && !view.failing);
  }

  /** The replicas not flagged failing, read live from CLUSTER NODES. */
  async replicas(): Promise<ClusterNodeInfo[]> {
    return (await this.topology()).filter((view) => view.role === 'replica' && !view.failing);
  }

  /** The master serving `slot`, read live. */
  async masterOfSlot(slot: number): Promise<ClusterNodeInfo> {
    const master = (await this.topology()).find((view) =>
      view.slots.some(([start, end]) => start <= slot && slot <= end),
    );
    if (!master) throw new Error(`no master serves slot ${slot} in the Redis Cluster in ${this.dir}`);

    return master;
  }

  /** The master serving the slot of `key`, read live. */
  masterOfKey(key: string): Promise<ClusterNodeInfo> {
    return this.masterOfSlot(slotOfKey(key));
  }

  /**
   * `CLUSTER FAILOVER` (or `FAILOVER FORCE` / `TAKEOVER`) on a replica; resolves once it is master and the cluster
   * has settled (its old master is then its replica).
   */
  async failover(replicaPort: number, mode?: 'FORCE' | 'TAKEOVER'): Promise<void> {
    const self = await this.self(replicaPort);
    if (self.role !== 'replica') throw new Error(`node ${replicaPort} is a ${self.role}, not a replica`);
    await redisServerCommand(replicaPort, 'CLUSTER', 'FAILOVER', ...(mode ? [mode] : []));
    await this.waitUntil(`node ${replicaPort} to take over as master`, async () => {
      if ((await this.self(replicaPort)).role !== 'master') return `node ${replicaPort} is still a replica`;

      return this.settledProblem();
    });
  }

  /** SIGKILLs the node on `port` and waits for it to exit (waitForFailover() waits for the cluster to react). */
  async kill(port: number): Promise<void> {
    const { server } = this.node(port);
    server.kill('SIGKILL');
    await server.exited;
  }

  /**
   * Cuts the master on `masterPort` off from its replica, as a network would: the replica is paused (SIGSTOP) and the
   * master drops its link (CLIENT KILL TYPE replica), so what the master takes from then on never reaches it, even once
   * resumed (what sat in the dropped link's buffers is gone). Returns the replica's port, for `resume()` (SIGCONT).
   */
  async cutOffReplica(masterPort: number): Promise<number> {
    const master = await this.self(masterPort);
    const replica = (await this.replicas()).find((view) => view.masterId === master.id);
    if (!replica) throw new Error(`master ${masterPort} has no replica to cut off`);
    this.node(replica.port).server.kill('SIGSTOP');
    await cutReplicaLinks(masterPort);

    return replica.port;
  }

  /** SIGCONT to a node cutOffReplica() paused. */
  resume(port: number): void {
    this.node(port).server.kill('SIGCONT');
  }

  /** Waits until the cluster has settled (see the class comment); topology() then tells the roles. */
  async waitUntilSettled(timeoutMs = this.timeoutMs): Promise<void> {
    await this.waitUntil('the cluster to settle', () => this.settledProblem(), timeoutMs);
    await this.topology();
  }

  /**
   * After a kill() of a master: waits until a replica has taken its slots over and the cluster has settled (node
   * timeout plus the election: about 3 s with the default node timeout).
   */
  async waitForFailover(timeoutMs = this.timeoutMs): Promise<void> {
    await this.waitUntil('every slot to have a running master', () => this.settledProblem(), timeoutMs);
  }

  /**
   * Starts a killed node again on its port and folder; it rejoins (a master that was failed over comes back as a
   * replica of its successor). Resolves once the cluster has settled and, for a replica, its replication link is up.
   */
  async restart(port: number): Promise<void> {
    const { server } = this.node(port);
    await server.start();
    await this.waitUntil(`node ${port} to rejoin`, async () => {
      const problem = await this.settledProblem();
      if (problem) return problem;
      if ((await this.self(port)).role === 'master') return undefined;
      const link = infoField(await redisServerText(port, 'INFO', 'replication'), 'master_link_status');

      return link === 'up' ? undefined : `replica ${port} has master_link_status ${link}`;
    });
  }

  /**
   * Waits until every running replica has applied everything its master had written when this was called (a kill
   * of the master after that loses nothing).
   */
  async waitForReplication(timeoutMs = this.timeoutMs): Promise<void> {
    const running = new Set(this.runningNodes().map(({ id }) => id));
    const views = (await this.topology()).filter((view) => running.has(view.id));
    const targets = await Promise.all(
      views
        .filter((view) => view.role === 'master')
        .map(async (master) => {
          const offset = Number(
            infoField(await redisServerText(master.port, 'INFO', 'replication'), 'master_repl_offset'),
          );

          return views.filter((view) => view.masterId === master.id).map(({ port }) => ({ port, offset }));
        }),
    );
    await this.waitUntil(
      'the replicas to catch up with their masters',
      async () => {
        for (const { port, offset } of targets.flat()) {
          const applied = Number(infoField(await redisServerText(port, 'INFO', 'replication'), 'slave_repl_offset'));
          if (!(applied >= offset)) return `replica ${port} is at offset ${applied} of ${offset}`;
        }

        return undefined;
      },
      timeoutMs,
    );
  }

  /**
   * `redis-cli --cluster reshard`: moves `slots` slots (redis-cli picks which) with their keys from one master to
   * another; resolves once the cluster has settled, with the slots that moved.
   */
  async reshard({ from, to, slots }: ReshardRequest): Promise<number[]> {
    const before = new Set(await this.slotsOf(to));
    await runOrThrow(this.redisCli, [
      ...['--cluster', 'reshard', `${LOOPBACK_HOST}:${from}`],
      ...['--cluster-from', this.node(from).id, '--cluster-to', this.node(to).id],
      ...['--cluster-slots', String(slots), '--cluster-yes'],
    ]);
    await this.waitUntilSettled();

    return (await this.slotsOf(to)).filter((slot) => !before.has(slot));
  }

  /**
   * Moves one chosen slot, with its keys, to the master on `toPort`, while clients go on using it (they follow the
   * ASK and MOVED redirections). redis-cli cannot pick the slot (reshard takes a count), so this does what its
   * reshard does for each slot: SETSLOT IMPORTING on the target, MIGRATING on the source, MIGRATE of the slot's keys
   * in batches, then SETSLOT NODE on the target, the source and every other master. Resolves with the number of
   * keys moved, once the cluster has settled.
   */
  async moveSlot(slot: number, toPort: number, batchSize = 100): Promise<number> {
    const source = await this.masterOfSlot(slot);
    const target = this.node(toPort);
    if ((await this.self(toPort)).role !== 'master') throw new Error(`node ${toPort} is not a master`);
    if (source.id === target.id) return 0;
    await redisServerCommand(target.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
    await redisServerCommand(source.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
    const moved = await onRedisServer(source.port, async (client) => {
      let count = 0;
      for (;;) {
        const keys = (await client.call('CLUSTER', 'GETKEYSINSLOT', slot, batchSize)) as string[];
        if (keys.length === 0) return count;
        await client.call('MIGRATE', LOOPBACK_HOST, target.port, '', 0, 10_000, 'KEYS', ...keys);
        count += keys.length;
      }
    });
    await redisServerCommand(target.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
    await redisServerCommand(source.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
    const otherMasters = (await this.masters()).filter(({ id }) => id !== source.id && id !== target.id);
    await Promise.all(
      otherMasters.map(({ port }) => redisServerCommand(port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id)),
    );
    await this.waitUntil(`slot ${slot} to move to node ${toPort}`, async () => {
      if ((await this.masterOfSlot(slot)).id !== target.id) return `slot ${slot} is not on node ${toPort} yet`;

      return this.settledProblem();
    });

    return moved;
  }

  /** Stops every node (SIGTERM; SIGKILL after 15 s) and removes the cluster's folder. */
  async stop(): Promise<void> {
    const results = await Promise.allSettled(
      this.nodes.map(async ({ server }) => {
        await server.stop();
        untrack(server);
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async self(port: number): Promise<ClusterNodeInfo> {
    const { id } = this.node(port);
    const self = (await this.topology(port)).find((view) => view.id === id);
    if (!self) throw new Error(`node ${port} does not list itself in CLUSTER NODES`);

    return self;
  }

  private async slotsOf(port: number): Promise<number[]> {
    const { id } = this.node(port);
    const view = (await this.topology()).find((candidate) => candidate.id === id);

    return (view?.slots ?? []).flatMap(([start, end]) => Array.from({ length: end - start + 1 }, (_, i) => start + i));
  }

  /** Why the cluster has not settled (see the class comment), or undefined when it has. */
  private async settledProblem(): Promise<string | undefined> {
    const running = this.runningNodes();
    const runningIds = new Set(running.map(({ id }) => id));
    let reference: { port: number; signature: string } | undefined;
    for (const { port } of running) {
      const state = infoField(await redisServerText(port, 'CLUSTER', 'INFO'), 'cluster_state');
      if (state !== 'ok') return `node ${port} has cluster_state ${state}`;
      const views = parseClusterNodes(await redisServerText(port, 'CLUSTER', 'NODES'));
      const problem = viewProblem(views, this.nodes.length, runningIds);
      if (problem) return `node ${port} ${problem}`;
      const signature = viewSignature(views, runningIds);
      if (reference && reference.signature !== signature) {
        return `nodes ${reference.port} and ${port} disagree on the slots or roles`;
      }
      reference ??= { port, signature };
    }

    return undefined;
  }

  /** Polls `check` (undefined: done; a string: why not yet) every 50 ms until done; throws with the last reason. */
  private async waitUntil(
    what: string,
    check: () => Promise<string | undefined>,
    timeoutMs = this.timeoutMs,
  ): Promise<void> {
    await waitUntilSettled(`Redis Cluster in ${this.dir}`, what, check, timeoutMs);
  }
}

/** redis-cli: Debian's redis-server package brings it (through redis-tools), beside redis-server. */
function findRedisCli(redisServer: string): string {
  const beside = join(dirname(redisServer), 'redis-cli');
  const found = which('redis-cli') ?? (isExecutable(beside) ? beside : undefined);
  if (!found) throw new Error(`redis-cli not found on the PATH nor beside ${redisServer}; install redis-tools`);

  return found;
}

/** `count` distinct free loopback ports. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort());

  return [...ports];
}

function clusterArgs(busPort: number, nodeTimeoutMs: number): string[] {
  return [
    ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    // Chosen, not port + 10000: an ephemeral port plus 10000 can pass 65535.
    ...['--cluster-port', String(busPort), '--cluster-node-timeout', String(nodeTimeoutMs)],
    // A replica may always be elected, however long it has been cut off: the tests kill masters on purpose and want
    // the failover. cluster-require-full-coverage stays yes: a slot without a master must fail the writes.
    ...['--cluster-replica-validity-factor', '0'],
    // A (re)joining replica's full sync starts at once, not after the default 5 s wait for more replicas.
    ...['--repl-diskless-sync-delay', '0'],
  ];
}

/**
 * Starts a Redis Cluster on 127.0.0.1 (by default 3 masters with 1 replica each) in a new temporary folder:
 * `redis-server --cluster-enabled yes` per node, then `redis-cli --cluster create … --cluster-replicas N`, and waits
 * until the cluster has settled. Each node is tracked like the other local servers (stopped with the owner).
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterServer> {
  const masters = options.masters ?? 3;
  const replicasPerMaster = options.replicasPerMaster ?? 1;
  if (masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, not ${masters}`);
  const redisServer = options.redisServer ?? findRedisServer() ?? ensureServerBinaries().redisServer;
  const redisCli = findRedisCli(redisServer);
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'spillway-redis-cluster-'));
  const count = masters * (1 + replicasPerMaster);
  const ports = await freePorts(2 * count);
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => {
      const [port = 0, busPort = 0] = [ports[2 * i], ports[2 * i + 1]];

      return startRedis({
        dir: join(dir, `node-${port}`),
        port,
        redisServer,
        appendOnly: options.appendOnly ?? true,
        appendFsync: options.appendFsync ?? 'everysec',
        extraArgs: clusterArgs(busPort, nodeTimeoutMs),
      }).then((server) => ({ server, port, busPort, id: '', role: 'master' as ClusterRole }));
    }),
  );
  const nodes = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const cluster = new RedisClusterServer({ dir, nodes, redisCli, timeoutMs: options.timeoutMs ?? 30_000 });
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    for (const node of nodes) node.id = await redisServerText(node.port, 'CLUSTER', 'MYID');
    await runOrThrow(redisCli, [
      ...['--cluster', 'create', ...cluster.startupNodes.map(({ host, port }) => `${host}:${port}`)],
      ...['--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
    ]);
    await cluster.waitUntilSettled();
  } catch (error) {
    await cluster.stop().catch(() => undefined);
    throw error;
  }

  return cluster;
}
