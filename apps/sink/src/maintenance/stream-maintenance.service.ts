import { Inject, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { CollectionRegistry, connectionsOf } from '@app/collections';
import { sinkConfig } from '@app/config';
import { allPartitions, connectionGroup, entryIdMs, type PartitionKeys } from '@app/contracts';
import { DatabaseConnections } from '@app/persistence';
import { REDIS_CLIENT, type RedisClient } from '@app/redis';
import { minEntryId, nextEntryId } from '../consumer/stream-replies';

const INTERVAL_MS = 5000;
/**
 * Tombstones outlive the oldest unacked entry by this much, as a margin for a paused replica that wakes
 * up holding old entries it no longer owns.
 */
const TOMBSTONE_MARGIN_MS = 60 * 60 * 1000;

type Fields = (string | number | null)[];
const field = (fields: Fields, name: string) => fields[fields.indexOf(name) + 1];

/**
 * Housekeeping every few seconds: trims stream entries every group has acked, removes consumers that
 * hold nothing and have been idle long, prunes tombstones no older entry can reach.
 */
@Injectable()
export class StreamMaintenanceService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(StreamMaintenanceService.name);
  private timer?: NodeJS.Timeout;
  private busy = false;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    @Inject(sinkConfig.KEY) private readonly cfg: ConfigType<typeof sinkConfig>,
    private readonly collections: CollectionRegistry,
    private readonly databases: DatabaseConnections,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.runOnce(), INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async runOnce(): Promise<void> {
    if (this.busy) {
      return;
    }
    this.busy = true;
    try {
      for (const collection of this.collections.all()) {
        for (const keys of allPartitions(collection)) {
          const safeId = await this.trim(keys);
          for (const { name, database } of this.databases.select(this.cfg.connections)) {
            if (!connectionsOf(collection).includes(name)) {
              continue;
            }
            await this.removeIdleConsumers(keys, connectionGroup(this.cfg.group, name));
            if (safeId && collection.kind === 'document' && database.isConnected) {
              const { dataSource, dialect } = database;
              await dialect.state.pruneTombstones(dataSource, collection.name, entryIdMs(safeId) - TOMBSTONE_MARGIN_MS);
            }
          }
        }
      }
    } catch (error) {
      this.logger.debug(`maintenance skipped: ${(error as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /**
   * Trims entries below the oldest one any group still needs (its oldest pending entry, or the one after
   * its last delivered entry). Returns that id, or undefined when the stream has no group yet.
   */
  async trim(keys: PartitionKeys): Promise<string | undefined> {
    const groups = (await this.redis.xinfo('GROUPS', keys.stream).catch(() => [])) as Fields[];
    let safe: string | undefined;
    for (const group of groups) {
      const name = String(field(group, 'name'));
      const summary = (await this.redis.xpending(keys.stream, name)) as [number, string | null, ...unknown[]];
      const needed = summary[1] ?? nextEntryId(String(field(group, 'last-delivered-id')));
      safe = safe === undefined ? needed : minEntryId(safe, needed);
    }
    if (safe === undefined) {
      return undefined;
    }
    await this.redis.xtrim(keys.stream, 'MINID', safe);

    return safe;
  }

  private async removeIdleConsumers(keys: PartitionKeys, group: string): Promise<void> {
    const consumers = (await this.redis.xinfo('CONSUMERS', keys.stream, group).catch(() => [])) as Fields[];
    const idleLimit = Math.max(10 * this.cfg.claimIdleMs, 5 * 60 * 1000);
    for (const consumer of consumers) {
      const name = String(field(consumer, 'name'));
      if (
        name !== this.cfg.consumer &&
        Number(field(consumer, 'pending')) === 0 &&
        Number(field(consumer, 'idle')) > idleLimit
      ) {
        await this.redis.xgroup('DELCONSUMER', keys.stream, group, name);
        this.logger.log(`removed idle consumer ${name} from ${keys.stream}`);
      }
    }
  }
}
