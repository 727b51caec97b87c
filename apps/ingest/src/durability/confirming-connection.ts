import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import calculateSlot from 'cluster-key-slot';
import type { Cluster } from 'ioredis';
import { ingestConfig } from '@app/config';
import { isCluster, REDIS_CONNECTION_FACTORY, type RedisClient, type RedisConnectionFactory } from '@app/redis';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { GroupCommit } from './group-commit';
import { levelReached, waitCommand, type WaitedLevel, type WaitSettings } from './wait-commands';

/** The writes confirmed together: on a cluster, those of one master, reached through a key of one of its slots. */
interface ConfirmGroup {
  commit: GroupCommit;
  /** a stream key of the master's, last asked for (undefined on one server) */
  via: string | undefined;
}

/** The master that serves a key's slot (`host:port`), as the cluster client last learnt it; else the slot. */
function masterOf(cluster: Cluster, key: string): string {
  const slot = calculateSlot(key);

  return cluster.slots[slot]?.[0] ?? `slot ${slot}`;
}

/**
 * The connection `replicated` and `aof` writes go on, and the WAIT / WAITAOF that confirm them. WAIT counts the writes
 * of the connection it is sent on and blocks that connection until it returns, so neither can go on the shared,
 * auto-pipelined ingest client: it would hold up every other request, and count their writes too. Writes that come
 * while a WAIT is in flight are confirmed together by the next one ({@link GroupCommit}). On a Redis Cluster, one per
 * master: the WAIT goes in a pipeline with a read of a partition's stream key, which sends it to that slot's master
 * on the connection the writes went on.
 */
@Injectable()
export class ConfirmingConnection implements OnApplicationShutdown {
  private readonly logger = new Logger(ConfirmingConnection.name);
  private client?: RedisClient;
  private readonly groups = new Map<string, ConfirmGroup>();
  private readonly settings: WaitSettings;

  constructor(
    @Inject(REDIS_CONNECTION_FACTORY) private readonly open: RedisConnectionFactory,
    @Inject(ingestConfig.KEY) cfg: ConfigType<typeof ingestConfig>,
  ) {
    this.settings = { replicas: cfg.waitReplicas, timeoutMs: cfg.waitTimeoutMs };
  }

  /**
   * The connection, opened at first use (most deployments never ask for these levels) and ready to write; a 503 when
   * it cannot be reached in time, before anything is written.
   */
  async ready(): Promise<RedisClient> {
    if (!this.client) {
      this.client = this.open({ failFast: true, autoPipelining: true, name: 'spillway-confirmed' });
      this.client.on('error', (error: Error) => this.logger.warn(`redis connection: ${error.message}`));
    }
    const client = this.client;
    if (client.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.timeoutMs);
        client.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (client.status !== 'ready') {
      throw new IngestException(IngestExceptionCode.REDIS_UNAVAILABLE, 'Redis cannot be reached');
    }

    return client;
  }

  /** The connection {@link ready} opened, for the writes that follow it. */
  get current(): RedisClient {
    if (!this.client) {
      throw new Error('the confirming connection is used before it was opened');
    }

    return this.client;
  }

  /**
   * Whether `level` was reached for the writes of `streams` this connection has had answered: one command for them
   * all (one per slot on a cluster), shared with the writes of other requests. False when the timeout passed first,
   * or the command failed: the writes happened all the same.
   */
  async confirm(level: WaitedLevel, streams: readonly string[]): Promise<boolean> {
    const client = this.current;
    if (!isCluster(client)) {
      return this.groupOf(client, level, '').commit.next();
    }
    // One WAIT per master: the writes to all its slots went on one connection, and WAITs on it run one after another.
    const byMaster = new Map(streams.map((stream) => [masterOf(client, stream), stream]));
    const reached = await Promise.all(
      [...byMaster].map(([master, stream]) => {
        const group = this.groupOf(client, level, master);
        group.via = stream;

        return group.commit.next();
      }),
    );

    return reached.every(Boolean);
  }

  /** The group of `level` on one master (on one server, `''`), made at first use. */
  private groupOf(client: RedisClient, level: WaitedLevel, master: string): ConfirmGroup {
    const key = `${level}:${master}`;
    let group = this.groups.get(key);
    if (!group) {
      const [command, ...args] = waitCommand(level, this.settings);
      const made: ConfirmGroup = {
        via: undefined,
        commit: new GroupCommit(async () => {
          if (made.via === undefined) {
            return levelReached(level, await client.call(command, args), this.settings);
          }
          const replies = (await client.pipeline().exists(made.via).call(command, args).exec()) ?? [];
          const [error, reply] = replies[1] ?? [new Error(`${command} got no reply`), undefined];
          if (error) {
            throw error;
          }

          return levelReached(level, reply, this.settings);
        }),
      };
      group = made;
      this.groups.set(key, group);
    }

    return group;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
