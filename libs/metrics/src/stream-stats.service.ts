import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { CollectionRegistry } from '@app/collections';
import { allPartitions, type PartitionedCollection } from '@app/contracts';
import { readStreamBacklog, REDIS_CLIENT, type RedisClient } from '@app/redis';
import { SpillwayMetrics } from './spillway.metrics';

export interface StreamStats {
  length: number;
  pending: number;
  backlog: number;
  deadLetters: number;
}

const REFRESH_MS = 1000;

/** Reads XLEN / XINFO GROUPS of every collection stream on a short timer; feeds the gauges and the 429 check. */
@Injectable()
export class StreamStatsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(StreamStatsService.name);
  private readonly stats = new Map<string, StreamStats>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly collections: CollectionRegistry,
    private readonly metrics: SpillwayMetrics,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
    void this.refresh();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The last figures read for a collection; undefined until the first read succeeded. */
  get(collection: string): StreamStats | undefined {
    return this.stats.get(collection);
  }

  async refresh(): Promise<void> {
    try {
      for (const collection of this.collections.all()) {
        const stats = await this.read(collection);
        this.stats.set(collection.name, stats);
        this.metrics.streamLength.set({ collection: collection.name }, stats.length);
        this.metrics.streamPending.set({ collection: collection.name }, stats.pending);
        this.metrics.streamBacklog.set({ collection: collection.name }, stats.backlog);
        this.metrics.dlqLength.set({ collection: collection.name }, stats.deadLetters);
      }
    } catch (error) {
      this.logger.debug(`stream stats not read: ${(error as Error).message}`);
    }
  }

  private async read(collection: PartitionedCollection): Promise<StreamStats> {
    const total: StreamStats = { length: 0, pending: 0, backlog: 0, deadLetters: 0 };
    for (const keys of allPartitions(collection)) {
      const [stream, deadLetters] = await Promise.all([
        readStreamBacklog(this.redis, keys.stream),
        this.redis.xlen(keys.deadLetters),
      ]);
      total.length += stream.length;
      total.pending += stream.pending;
      total.backlog += stream.backlog;
      total.deadLetters += deadLetters;
    }

    return total;
  }
}
