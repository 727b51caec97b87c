import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { CollectionRegistry } from '@app/collections';
import { allPartitions, compareEntryIds, type PartitionedCollection } from '@app/contracts';
import { REDIS_CLIENT } from '@app/redis';
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
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
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
      const [length, deadLetters, groups, newest] = await Promise.all([
        this.redis.xlen(keys.stream),
        this.redis.xlen(keys.deadLetters),
        readGroups(this.redis, keys.stream),
        this.redis.xrevrange(keys.stream, '+', '-', 'COUNT', 1),
      ]);
      const newestId = newest[0]?.[0];
      const undelivered = (group: GroupInfo) => {
        // Entries not yet delivered are still on the stream, after the group's last delivered one. Redis's own
        // count ('lag') can stay off for good after an AOF reload, so it is only trusted within those bounds.
        if (newestId === undefined || compareEntryIds(newestId, group.lastDelivered) <= 0) {
          return 0;
        }

        return Math.min(group.lag ?? length, length);
      };
      total.length += length;
      total.deadLetters += deadLetters;
      total.pending += groups.reduce((sum, g) => sum + g.pending, 0);
      total.backlog += groups.length === 0 ? length : Math.max(...groups.map((g) => g.pending + undelivered(g)));
    }

    return total;
  }
}

interface GroupInfo {
  pending: number;
  lag: number | null;
  lastDelivered: string;
}

/** XINFO GROUPS as objects; an absent stream has no groups. */
async function readGroups(redis: Redis, stream: string): Promise<GroupInfo[]> {
  let reply: unknown[];
  try {
    reply = (await redis.xinfo('GROUPS', stream)) as unknown[];
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) {
      return [];
    }
    throw error;
  }

  return reply.map((raw) => {
    const fields = raw as (string | number | null)[];
    const get = (name: string) => fields[fields.indexOf(name) + 1];

    return {
      pending: Number(get('pending')),
      lag: get('lag') === null ? null : Number(get('lag')),
      lastDelivered: String(get('last-delivered-id')),
    };
  });
}
