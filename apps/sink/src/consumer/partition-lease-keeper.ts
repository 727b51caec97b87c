import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from '@app/collections';
import { allPartitions, type PartitionKeys } from '@app/contracts';
import type { SpillwayMetrics } from '@app/metrics';
import {
  fairShares,
  homeOf,
  type PartitionView,
  partitionsToRelease,
  partitionsToTake,
  rankOf,
  readersPerPartition,
  type SinkRank,
} from './lease-assignment';
import type { PartitionLeases } from './partition-leases';

/** A partition's consumer loop as the leases start and stop it (PartitionLoop). */
export interface LeasedLoop {
  readonly collection: Collection;
  readonly keys: PartitionKeys;
  /** true once the loop has ended, asked to or not */
  readonly ended: boolean;
  /** true while its database writes are failing (readiness) */
  readonly databaseFailing: boolean;
  /** stops reading once the batch in hand is committed and acked, and frees the loop's connection */
  stop(): Promise<void>;
}

/** Starts reading a partition whose lease this sink has just taken. */
export type StartPartitionLoop = (collection: Collection, keys: PartitionKeys) => LeasedLoop;

export interface LeaseKeeperOptions {
  /** the connection whose consumer group the leases are of, for metrics and logs */
  connection: string;
  consumer: string;
  /** SINK_LEASE_TTL_MS: a round runs every third of it, so a lease is renewed twice before it could lapse */
  ttlMs: number;
  metrics: SpillwayMetrics;
}

/**
 * Shares one consumer group's partitions with the other live sinks of the group. Every round (a third of the lease
 * TTL) it renews its membership, renews the leases it holds (a refused renewal stops that partition's loop), gives up
 * what is over its fair share (the loop commits and acks the batch in hand first) and takes free or lapsed leases up
 * to it, starting a loop on a connection of its own for each. Correctness never rests on a lease: two sinks reading
 * one partition for a while (one past its lease) is safe, as it is for any consumer group.
 */
export class PartitionLeaseKeeper {
  private readonly logger: Logger;
  private readonly owned = new Map<string, LeasedLoop>();
  private readonly releasing = new Map<string, Promise<void>>();
  private readonly wake = new AbortController();
  private closed = false;
  private running?: Promise<void>;
  private closing?: Promise<void>;

  constructor(
    private readonly collections: readonly Collection[],
    private readonly leases: PartitionLeases,
    private readonly startLoop: StartPartitionLoop,
    private readonly opts: LeaseKeeperOptions,
  ) {
    this.logger = new Logger(`PartitionLeases:${opts.connection}`);
  }

  /** The loops running here now, one per partition whose lease this sink holds. */
  get loops(): LeasedLoop[] {
    return [...this.owned.values()];
  }

  /** Runs lease rounds until {@link close}; a second call is refused. */
  run(): Promise<void> {
    if (this.running) {
      throw new Error(`the partition leases of connection ${this.opts.connection} are already kept`);
    }
    this.running = this.keep();

    return this.running;
  }

  /**
   * Leaves the group, stops every loop (each commits and acks its batch in hand) and gives up its leases, so the
   * other sinks take them on their next round instead of after the TTL. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();

    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    this.closed = true;
    this.wake.abort();
    await this.running;
    await this.leases.leave().catch((error: Error) => this.logger.warn(`could not leave the group: ${error.message}`));
    for (const keys of this.ownedKeys()) {
      this.release(keys, 'shutting down');
    }
    await Promise.allSettled(this.releasing.values());
    this.report();
  }

  private async keep(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        await this.round();
        if (failures > 0) {
          this.logger.log(`lease rounds resumed after ${failures} failed`);
        }
        failures = 0;
      } catch (error) {
        // Redis unreachable: the loops keep their partitions (a lease cannot be renewed, but nobody can take it
        // either while nobody reaches Redis); the rounds retry, and a renewal refused after the outage stops a loop.
        failures++;
        const log = failures === 1 ? 'warn' : 'debug';
        this.logger[log](`lease round failed (${(error as Error).message}); keeping the partitions read, retrying`);
      }
      this.report();
      await sleep(this.opts.ttlMs / 3, undefined, { signal: this.wake.signal }).catch(() => undefined);
    }
  }

  private async round(): Promise<void> {
    const { now, members } = await this.leases.heartbeat();
    const rank = rankOf(members, this.opts.consumer);
    const shares = fairShares(this.collections, rank);
    for (const collection of this.collections) {
      if (this.closed) {
        return;
      }
      await this.balance(collection, rank, shares.get(collection.name) ?? 0, now);
    }
  }

  /** Renews one collection's leases held here, then gives up or takes partitions towards the fair share. */
  private async balance(collection: Collection, rank: SinkRank, share: number, now: number): Promise<void> {
    const room = readersPerPartition(collection.partitions, rank.count);
    const home = homeOf(collection.partitions, rank);
    const partitions = allPartitions(collection);
    const mine = await this.renew(
      partitions.filter((keys) => this.owned.has(keys.stream)),
      room,
    );
    if (mine.length > share) {
      for (const partition of partitionsToRelease(mine, share, home)) {
        this.release(partitions[partition]!, `rebalancing to ${share} of ${collection.partitions} among ${rank.count}`);
      }
    } else if (mine.length < share) {
      const free = partitions.filter((keys) => !this.owned.has(keys.stream) && !this.releasing.has(keys.stream));
      const others = await Promise.all(
        free.map(async (keys) => ({
          partition: keys.partition,
          readers: (await this.leases.readers(keys, now)).length,
          mine: false,
        })),
      );
      let missing = share - mine.length;
      for (const partition of partitionsToTake(others, room, home)) {
        if (missing === 0 || this.closed) {
          break;
        }
        if (await this.take(collection, partitions[partition]!, room)) {
          missing--;
        }
      }
    }
  }

  /** Renews each lease held; a partition whose renewal is refused (taken over meanwhile) or whose loop ended is let go. */
  private async renew(held: PartitionKeys[], room: number): Promise<PartitionView[]> {
    const views = await Promise.all(
      held.map(async (keys): Promise<PartitionView | undefined> => {
        if (this.owned.get(keys.stream)?.ended) {
          this.release(keys, 'its loop ended');

          return undefined;
        }
        const { held: kept, readers } = await this.leases.hold(keys, room);
        if (!kept) {
          this.release(keys, 'its lease lapsed and was taken over');

          return undefined;
        }

        return { partition: keys.partition, readers: readers.length, mine: true };
      }),
    );

    return views.filter((v) => v !== undefined);
  }

  private async take(collection: Collection, keys: PartitionKeys, room: number): Promise<boolean> {
    const { held, readers } = await this.leases.hold(keys, room);
    if (held) {
      this.owned.set(keys.stream, this.startLoop(collection, keys));
      this.logger.log(`took ${keys.stream} (read by ${readers.join(', ')})`);
    }

    return held;
  }

  /** Stops the partition's loop (its batch in hand commits and acks), then gives up its lease; in the background. */
  private release(keys: PartitionKeys, why: string): void {
    const loop = this.owned.get(keys.stream);
    if (!loop) {
      return;
    }
    this.owned.delete(keys.stream);
    this.logger.log(`giving up ${keys.stream}: ${why}`);
    const released = loop
      .stop()
      .then(() => this.leases.release(keys))
      .catch((error: Error) => this.logger.warn(`lease of ${keys.stream} left to lapse: ${error.message}`))
      .finally(() => this.releasing.delete(keys.stream));
    this.releasing.set(keys.stream, released);
  }

  private ownedKeys(): PartitionKeys[] {
    return [...this.owned.values()].map((loop) => loop.keys);
  }

  private report(): void {
    for (const collection of this.collections) {
      const owned = this.loops.filter((loop) => loop.collection.name === collection.name).length;
      this.opts.metrics.sinkPartitionsOwned.set(
        { collection: collection.name, connection: this.opts.connection },
        owned,
      );
    }
  }
}
