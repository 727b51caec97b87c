import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Collection, CollectionRegistry, connectionsOf } from '@app/collections';
import { exitOnStartupFailure, sinkConfig } from '@app/config';
import { allPartitions, connectionGroup, type PartitionKeys } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import {
  collectionsIn,
  DatabaseConnections,
  type DatabaseService,
  isDefaultConnection,
  type NamedDatabase,
  retryDelayMs,
  SchemaChangeRefusedError,
  SchemaProvisioner,
} from '@app/persistence';
import {
  PartitionCountChangeRefusedError,
  REDIS_CLIENT,
  type RedisClient,
  REDIS_CONNECTION_FACTORY,
  type RedisConnectionFactory,
  settlePartitionCounts,
} from '@app/redis';
import { BatchWriter } from '../upsert/batch-writer';
import { CommitNotices } from './commit-notices';
import { PartitionLeaseKeeper } from './partition-lease-keeper';
import { PartitionLeases } from './partition-leases';
import { PartitionLoop } from './partition-loop';
import { ensureGroup } from './partition-stream';

/** A database refused to make the tables for a reason other than being unreachable: no retry mends it. */
class ProvisioningFailure extends Error {}

/**
 * Serves each connection (its database is written by its own consumer group, `connectionGroup`, so it commits, acks
 * and lags on its own) with a {@link PartitionLeaseKeeper}: the partitions of the collections writing to it are shared
 * out among the live sinks of the group by leases, and one consumer loop runs per partition held here, each on its
 * own blocking Redis connection.
 */
@Injectable()
export class StreamConsumerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(StreamConsumerService.name);
  private readonly keepers: { connection: string; keeper: PartitionLeaseKeeper }[] = [];
  private closing?: Promise<void>;
  private started = false;

  constructor(
    @Inject(sinkConfig.KEY) private readonly cfg: ConfigType<typeof sinkConfig>,
    @Inject(REDIS_CONNECTION_FACTORY) private readonly openRedis: RedisConnectionFactory,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly collections: CollectionRegistry,
    private readonly databases: DatabaseConnections,
    private readonly metrics: SpillwayMetrics,
  ) {}

  /** The connections this sink writes to: SINK_CONNECTIONS, or every connection. */
  served(): NamedDatabase[] {
    return this.databases.select(this.cfg.connections);
  }

  /** True once the tables are provisioned and the loops started. */
  get isStarted(): boolean {
    return this.started;
  }

  /** The connections whose database some loop's last write failed on (backing off); empty while all write. */
  failingConnections(): string[] {
    return this.keepers.filter((k) => k.keeper.loops.some((loop) => loop.databaseFailing)).map((k) => k.connection);
  }

  onApplicationBootstrap(): void {
    // In the background: health and metrics answer while the databases are still being waited for.
    this.run().catch((error: Error) => {
      if (
        error instanceof SchemaChangeRefusedError ||
        error instanceof ProvisioningFailure ||
        error instanceof PartitionCountChangeRefusedError
      ) {
        exitOnStartupFailure('sink', error);
      }
      this.logger.error(`consumers stopped: ${error.message}`);
    });
  }

  private async run(): Promise<void> {
    const served = this.served().map(({ name, database }) => ({
      name,
      database,
      collections: collectionsIn(this.collections.all(), name),
    }));
    // Every database's tables first: a change the provisioner refuses stops the sink before any loop starts.
    await Promise.all(served.map((s) => this.provision(s.name, s.database, s.collections)));
    if (this.closing) {
      return;
    }
    await settlePartitionCounts(this.redis, this.collections.all(), this.logger, () => this.closing !== undefined);
    await this.createGroups(this.collections.all());
    if (this.closing) {
      return;
    }
    for (const { name, database, collections } of served) {
      this.keepers.push({ connection: name, keeper: this.leaseKeeper(name, database, collections) });
    }
    this.started = true;
    await Promise.all(this.keepers.map((k) => k.keeper.run()));
  }

  /** The lease keeper of one connection served: it starts a loop, in the connection's group, per partition it holds. */
  private leaseKeeper(name: string, database: DatabaseService, collections: Collection[]): PartitionLeaseKeeper {
    const writer = new BatchWriter(database);
    const commitNotices = isDefaultConnection(name) ? new CommitNotices(this.redis, this.logger) : undefined;
    const cfg = { ...this.cfg, group: connectionGroup(this.cfg.group, name) };
    const startLoop = (collection: Collection, keys: PartitionKeys) =>
      new PartitionLoop(
        collection,
        keys,
        this.openRedis({ blocking: true, name: `spillway-sink:${this.cfg.consumer}` }),
        {
          writer,
          metrics: this.metrics,
          cfg,
          connection: name,
          dropsDeleteMarkers: isDefaultConnection(name),
          commitNotices,
        },
        this.cfg.shutdownMs,
      );
    const leases = new PartitionLeases(this.redis, cfg.group, cfg.consumer, cfg.leaseTtlMs);
    this.logger.log(
      `consumer ${cfg.consumer} sharing the partitions of ${collections.length} collections in group ${cfg.group} (connection ${name})`,
    );

    return new PartitionLeaseKeeper(collections, leases, startLoop, {
      connection: name,
      consumer: cfg.consumer,
      ttlMs: cfg.leaseTtlMs,
      metrics: this.metrics,
    });
  }

  /** Makes one database's tables, retrying while it cannot be reached; a refusal is a {@link ProvisioningFailure}. */
  private async provision(name: string, database: DatabaseService, collections: Collection[]): Promise<void> {
    const { dialect } = database;
    for (let attempt = 0; ; attempt++) {
      try {
        await new SchemaProvisioner(database).provision(collections);

        return;
      } catch (error) {
        if (error instanceof SchemaChangeRefusedError) {
          throw error;
        }
        const reason = `${dialect.label}: ${dialect.errors.describe(error)}`;
        if (dialect.errors.classify(error) !== 'unavailable') {
          throw new ProvisioningFailure(`connection ${name}: the tables could not be made (${reason})`);
        }
        if (this.closing) {
          return;
        }
        const delay = retryDelayMs(attempt);
        this.logger.warn(`connection ${name}: tables not made yet (${reason}); retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  /**
   * The consumer group of every connection each collection writes to, served here or not: trimming keeps what every
   * group still needs, so entries wait for a database whose sink has not started yet.
   */
  private async createGroups(collections: readonly Collection[]): Promise<void> {
    for (const collection of collections) {
      for (const connection of connectionsOf(collection)) {
        for (const keys of allPartitions(collection)) {
          await ensureGroup(this.redis, keys.stream, connectionGroup(this.cfg.group, connection));
        }
      }
    }
  }

  beforeApplicationShutdown(): Promise<void> {
    this.closing ??= this.close();

    return this.closing;
  }

  /** Stops every loop (the batch in hand commits and acks), leaves the group if nothing is pending, gives up the leases. */
  private async close(): Promise<void> {
    const results = await Promise.allSettled(this.keepers.map((k) => k.keeper.close()));
    for (const failed of results.filter((r) => r.status === 'rejected')) {
      this.logger.error(`consumer stopped with an error: ${String(failed.reason)}`);
    }
    this.logger.log(`consumer ${this.cfg.consumer} stopped`);
  }
}
