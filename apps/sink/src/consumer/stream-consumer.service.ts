import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Redis } from 'ioredis';
import { CollectionRegistry } from '@app/collections';
import { exitOnStartupFailure, sinkConfig } from '@app/config';
import { allPartitions, connectionGroup } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import {
  collectionsIn,
  DatabaseConnections,
  isDefaultConnection,
  type NamedDatabase,
  SchemaChangeRefusedError,
  SchemaProvisioner,
} from '@app/persistence';
import { REDIS_CONNECTION_FACTORY, type RedisConnectionFactory } from '@app/redis';
import { BatchWriter } from '../upsert/batch-writer';
import { PartitionConsumer } from './partition-consumer';

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
      if (error instanceof SchemaChangeRefusedError) {
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
    await Promise.all(served.map((s) => new SchemaProvisioner(s.database).provision(s.collections)));
    if (this.closing) {
      return;
    }
    for (const { name, database, collections } of served) {
      const writer = new BatchWriter(database);
      const cfg = { ...this.cfg, group: connectionGroup(this.cfg.group, name) };
      for (const collection of collections) {
        for (const keys of allPartitions(collection.name)) {
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
