import { randomUUID } from 'node:crypto';
import type { SinkConfig } from '@app/config';
import { type ChangeEntry, type PartitionKeys, TOMBSTONE_LINGER_S } from '@app/contracts';
import { isReplyError, RedisReplyCode, type RedisClient } from '@app/redis';
import type { VersionsAnswer } from './known-versions';
import { parseAutoClaimReply, parseDeliveryCounts, parseReadGroupReply, type RawEntry } from './stream-replies';

/** An entry the sink gives up on, and why. */
export interface DeadLetter {
  entry: RawEntry;
  reason: string;
}

/** Creates a consumer group reading a stream from its start (and the stream), unless the group exists. */
export async function ensureGroup(redis: RedisClient, stream: string, group: string): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
  } catch (error) {
    if (!isReplyError(error, RedisReplyCode.BUSYGROUP)) {
      throw error;
    }
  }
}

/**
 * The Redis side of one partition's consumer: the stream commands it sends in the consumer group (read, claim, ack,
 * dead-letter) and the scripts it runs on the partition's keys. Holds the XAUTOCLAIM cursor between calls.
 */
export class PartitionStream {
  private claimCursor = '0-0';
  private nextClaimAt = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: PartitionKeys,
    private readonly cfg: SinkConfig,
  ) {}

  /** Creates the group (and the stream) unless it exists. */
  ensureGroup(): Promise<void> {
    return ensureGroup(this.redis, this.keys.stream, this.cfg.group);
  }

  /** Entries a previous run under the same consumer name read and never acked (one batch of them). */
  async readOwnPending(): Promise<RawEntry[]> {
    const { group, consumer, batchSize } = this.cfg;
    const reply = await this.redis.xreadgroup(
      'GROUP',
      group,
      consumer,
      'COUNT',
      batchSize,
      'STREAMS',
      this.keys.stream,
      '0',
    );

    return parseReadGroupReply(reply);
  }

  /** Up to `count` new entries; with `block`, waits up to the configured block time for some to come. */
  async readNew(block: boolean, count: number): Promise<RawEntry[]> {
    const { group, consumer, blockMs } = this.cfg;
    const reply = block
      ? await this.redis.xreadgroup(
          'GROUP',
          group,
          consumer,
          'COUNT',
          count,
          'BLOCK',
          blockMs,
          'STREAMS',
          this.keys.stream,
          '>',
        )
      : await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', this.keys.stream, '>');

    return parseReadGroupReply(reply);
  }

  /**
   * Every half idle period, takes over entries other consumers have held too long, with their delivery counts;
   * undefined when it is not time yet or none are idle.
   */
  async claimIdle(): Promise<RawEntry[] | undefined> {
    if (Date.now() < this.nextClaimAt) {
      return undefined;
    }
    const { group, consumer, claimIdleMs, batchSize } = this.cfg;
    const reply = await this.redis.xautoclaim(
      this.keys.stream,
      group,
      consumer,
      claimIdleMs,
      this.claimCursor,
      'COUNT',
      batchSize,
    );
    const { cursor, entries } = parseAutoClaimReply(reply);
    this.claimCursor = cursor;
    if (cursor === '0-0') {
      this.nextClaimAt = Date.now() + Math.max(500, claimIdleMs / 2);
    }

    return entries.length > 0 ? this.withDeliveryCounts(entries) : undefined;
  }

  /** The entries with how many times the group has delivered each (XPENDING over their range). */
  async withDeliveryCounts(entries: RawEntry[]): Promise<RawEntry[]> {
    const first = entries[0];
    const last = entries.at(-1);
    if (first === undefined || last === undefined) {
      return entries;
    }
    const reply = await this.redis.xpending(
      this.keys.stream,
      this.cfg.group,
      first.id,
      last.id,
      entries.length,
      this.cfg.consumer,
    );
    const counts = parseDeliveryCounts(reply);

    return entries.map((e) => ({ ...e, deliveries: counts.get(e.id) ?? 1 }));
  }

  /** XCLAIM … JUSTID to ourselves resets the idle time without counting a delivery. */
  async keepClaimed(entryIds: string[]): Promise<void> {
    await this.redis.xclaim(this.keys.stream, this.cfg.group, this.cfg.consumer, 0, ...entryIds, 'JUSTID');
  }

  /** XACK after commit, and let Redis tombstones whose delete is now in PostgreSQL expire. */
  async acknowledge(entryIds: string[], deletes: ChangeEntry[]): Promise<void> {
    if (entryIds.length === 0) {
      return;
    }
    const pipeline = this.redis.pipeline();
    pipeline.xack(this.keys.stream, this.cfg.group, ...entryIds);
    for (const change of deletes) {
      pipeline.dropTombstone(this.keys.document(change.id), change.version, TOMBSTONE_LINGER_S);
    }
    const replies = (await pipeline.exec()) ?? [];
    for (const [error] of replies) {
      if (error) {
        throw error;
      }
    }
  }

  /**
   * Moves entries to the partition's dead-letter stream with their reason and acks them, in one script that skips
   * entries the group no longer holds: each entry is dead-lettered once, whichever replica gets there first.
   */
  async deadLetter(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) {
      return;
    }
    const args = letters.flatMap(({ entry, reason }) => {
      const fields = entry.fields ?? [];

      return [entry.id, reason, entry.deliveries, fields.length, ...fields];
    });
    await this.redis.deadLetter(this.keys.stream, this.keys.deadLetters, this.cfg.group, ...args);
  }

  /** One documentVersions call: the versions Redis holds of these documents, with the epoch and the horizon. */
  async versionsOf(ids: string[]): Promise<VersionsAnswer> {
    const keys = [this.keys.epoch, this.keys.stream, ...ids.map((id) => this.keys.document(id))];
    const [epoch, horizon, ...versions] = await this.redis.documentVersions(keys.length, ...keys, randomUUID());

    return { epoch, horizon, ids, versions };
  }

  /** Removes this consumer from the group when it holds no pending entries, so XINFO stays tidy. */
  async leaveGroupIfIdle(): Promise<void> {
    const { group, consumer } = this.cfg;
    const pending = await this.redis.xpending(this.keys.stream, group, '-', '+', 1, consumer);
    if (pending.length === 0) {
      await this.redis.xgroup('DELCONSUMER', this.keys.stream, group, consumer);
    }
  }
}
