import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { type Collection, CollectionRegistry, connectionsOf } from '@app/collections';
import { exitOnStartupFailure, sinkConfig } from '@app/config';
import { allPartitions, connectionGroup } from '@app/contracts';
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
import { REDIS_CLIENT, REDIS_CONNECTION_FACTORY, type RedisConnectionFactory } from '@app/redis';
import { BatchWriter } from '../upsert/batch-writer';
import { PartitionConsumer } from './partition-consumer';
import { ensureGroup } from './partition-stream';

/** A database refused to make the tables for a reason other than being unreachable: no retry mends it. */
class ProvisioningFailure extends Error {}

/**
 * Runs one consumer loop per connection served, collection writing to it and partition, each on its own blocking
 * Redis connection: each connection's database is written by its own consumer group (`connectionGroup`), so it
 * commits, acks and lags on its own.
 */
@Injectable()
export class StreamConsumerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(StreamConsumerService.name);
  private readonly consumers: { connection: string; consumer: PartitionConsumer }[] = [];
  private readonly connections: Redis[] = [];
  private closing?: Promise<void>;
  private started = false;

  constructor(
    @Inject(sinkConfig.KEY) private readonly cfg: ConfigType<typeof sinkConfig>,
    @Inject(REDIS_CONNECTION_FACTORY) private readonly openRedis: RedisConnectionFactory,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
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
    return [...new Set(this.consumers.filter((c) => c.consumer.databaseFailing).map((c) => c.connection))];
  }

  onApplicationBootstrap(): void {
    // In the background: health and metrics answer while the databases are still being waited for.
    this.run().catch((error: Error) => {
      if (error instanceof SchemaChangeRefusedError || error instanceof ProvisioningFailure) {
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
    await this.createGroups(this.collections.all());
    for (const { name, database, collections } of served) {
      const writer = new BatchWriter(database);
      const cfg = { ...this.cfg, group: connectionGroup(this.cfg.group, name) };
      for (const collection of collections) {
        for (const keys of allPartitions(collection)) {
          const redis = this.openRedis({ blocking: true, name: `spillway-sink:${this.cfg.consumer}` });
          redis.on('error', (error: Error) => this.logger.debug(`redis: ${error.message}`));
          this.connections.push(redis);
          const consumer = new PartitionConsumer(collection, keys, {
            redis,
            writer,
            metrics: this.metrics,
            cfg,
            connection: name,
            dropsDeleteMarkers: isDefaultConnection(name),
          });
          this.consumers.push({ connection: name, consumer });
        }
      }
      this.logger.log(
        `consumer ${this.cfg.consumer} reading ${collections.length} collections in group ${cfg.group} (connection ${name})`,
      );
    }
    this.started = true;
    await Promise.all(this.consumers.map((c) => c.consumer.run()));
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

  /** Stops every loop (the batch in hand commits and acks), leaves the group if nothing is pending, closes. */
  private async close(): Promise<void> {
    const results = await Promise.allSettled(this.consumers.map((c) => c.consumer.stop(this.cfg.shutdownMs)));
    for (const failed of results.filter((r) => r.status === 'rejected')) {
      this.logger.error(`consumer stopped with an error: ${String(failed.reason)}`);
    }
    await Promise.allSettled(this.consumers.map((c) => c.consumer.leaveGroupIfIdle()));
    await Promise.allSettled(this.connections.map((r) => r.quit()));
    this.logger.log(`consumer ${this.cfg.consumer} stopped`);
  }
}
