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
import { allPartitions } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import { SchemaChangeRefusedError, SchemaProvisioner } from '@app/persistence';
import { REDIS_CONNECTION_FACTORY, type RedisConnectionFactory } from '@app/redis';
import { BatchWriterService } from '../upsert/batch-writer.service';
import { PartitionConsumer } from './partition-consumer';

/** Runs one consumer loop per collection partition, each on its own blocking Redis connection. */
@Injectable()
export class StreamConsumerService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(StreamConsumerService.name);
  private readonly consumers: PartitionConsumer[] = [];
  private readonly connections: Redis[] = [];
  private closing?: Promise<void>;
  private started = false;

  constructor(
    @Inject(sinkConfig.KEY) private readonly cfg: ConfigType<typeof sinkConfig>,
    @Inject(REDIS_CONNECTION_FACTORY) private readonly openRedis: RedisConnectionFactory,
    private readonly collections: CollectionRegistry,
    private readonly provisioner: SchemaProvisioner,
    private readonly writer: BatchWriterService,
    private readonly metrics: SpillwayMetrics,
  ) {}

  /** True once the tables are provisioned and the loops started. */
  get isStarted(): boolean {
    return this.started;
  }

  /** False while any loop's last write failed for a database reason. */
  get isWriting(): boolean {
    return this.consumers.every((c) => !c.databaseFailing);
  }

  onApplicationBootstrap(): void {
    // In the background: health and metrics answer while PostgreSQL is still being waited for.
    this.run().catch((error: Error) => {
      if (error instanceof SchemaChangeRefusedError) {
        exitOnStartupFailure('sink', error);
      }
      this.logger.error(`consumers stopped: ${error.message}`);
    });
  }

  private async run(): Promise<void> {
    await this.provisioner.provision(this.collections.all());
    if (this.closing) {
      return;
    }
    for (const collection of this.collections.all()) {
      for (const keys of allPartitions(collection.name)) {
        const redis = this.openRedis({ blocking: true, name: `spillway-sink:${this.cfg.consumer}` });
        redis.on('error', (error: Error) => this.logger.debug(`redis: ${error.message}`));
        this.connections.push(redis);
        this.consumers.push(
          new PartitionConsumer(collection, keys, { redis, writer: this.writer, metrics: this.metrics, cfg: this.cfg }),
        );
      }
    }
    this.started = true;
    this.logger.log(
      `consumer ${this.cfg.consumer} reading ${this.consumers.length} streams in group ${this.cfg.group}`,
    );
    await Promise.all(this.consumers.map((c) => c.run()));
  }

  beforeApplicationShutdown(): Promise<void> {
    this.closing ??= this.close();

    return this.closing;
  }

  /** Stops every loop (the batch in hand commits and acks), leaves the group if nothing is pending, closes. */
  private async close(): Promise<void> {
    const results = await Promise.allSettled(this.consumers.map((c) => c.stop(this.cfg.shutdownMs)));
    for (const failed of results.filter((r) => r.status === 'rejected')) {
      this.logger.error(`consumer stopped with an error: ${String(failed.reason)}`);
    }
    await Promise.allSettled(this.consumers.map((c) => c.leaveGroupIfIdle()));
    await Promise.allSettled(this.connections.map((r) => r.quit()));
    this.logger.log(`consumer ${this.cfg.consumer} stopped`);
  }
}
