import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Collection } from '@app/collections';
import type { SinkConfig } from '@app/config';
import { ChangeOp, type ChangeEntry, decodeEntry, type PartitionKeys, TOMBSTONE_LINGER_S } from '@app/contracts';
import type { SpillwayMetrics } from '@app/metrics';
import { retryDelayMs } from '@app/persistence';
import type { BatchWriterService, IsolatedBatchResult } from '../upsert/batch-writer.service';
import { describeError } from '../upsert/postgres-errors';
import { type DeadLetter, sendToDeadLetters } from './dead-letters';
import { KnownVersions, type VersionsAnswer } from './known-versions';
import { parseAutoClaimReply, parseDeliveryCounts, parseReadGroupReply, type RawEntry } from './stream-replies';

export interface PartitionConsumerDeps {
  redis: Redis;
  writer: BatchWriterService;
  metrics: SpillwayMetrics;
  cfg: SinkConfig;
}

/** Ids whose versions a consumer remembers (about 100 bytes each); a 1M-entry backlog over 100k ids fits. */
const KNOWN_VERSIONS_PER_PARTITION = 100_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A batch as read and sorted out before its write: what to write, what to ack unwritten, what to dead-letter. */
interface Batch {
  raw: RawEntry[];
  /** Decoded changes, the superseded ones included. */
  changes: ChangeEntry[];
  /** Changes whose document Redis holds at a newer version: acked without a write. */
  superseded: Set<ChangeEntry>;
  letters: DeadLetter[];
  /** Entries deleted from the stream while pending: nothing to write, only to ack. */
  settledIds: string[];
}

/**
 * Reads one partition stream in the consumer group and writes it behind, batch by batch:
 * XREADGROUP (and XAUTOCLAIM of idle entries) → one transaction → XACK after commit.
 */
export class PartitionConsumer {
  private readonly logger: Logger;
  private running?: Promise<void>;
  private stopping = false;
  private stopDeadline = Number.POSITIVE_INFINITY;
  private claimCursor = '0-0';
  private nextClaimAt = 0;
  private readonly knownVersions = new KnownVersions(KNOWN_VERSIONS_PER_PARTITION);
  /** True while the last write attempt failed for a reason other than the data: readiness reports it. */
  databaseFailing = false;

  constructor(
    private readonly collection: Collection,
    private readonly keys: PartitionKeys,
    private readonly deps: PartitionConsumerDeps,
  ) {
    this.logger = new Logger(`PartitionConsumer:${keys.stream}`);
    // A connection made again may reach a server that lacks what the old one held (a replica that lagged).
    deps.redis.on('ready', () => this.knownVersions.forget());
  }

  /** Starts the loop; a second call is refused. */
  run(): Promise<void> {
    if (this.running) {
      throw new Error(`consumer of ${this.keys.stream} is already running`);
    }
    this.running = this.loop();

    return this.running;
  }

  /** Stops reading, lets the batch in hand commit and ack (until the deadline), then returns. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    this.stopDeadline = Date.now() + deadlineMs;
    await this.running;
  }

  /** Removes this consumer from the group when it holds no pending entries, so XINFO stays tidy. */
  async leaveGroupIfIdle(): Promise<void> {
    const pending = await this.deps.redis.xpending(
      this.keys.stream,
      this.deps.cfg.group,
      '-',
      '+',
      1,
      this.deps.cfg.consumer,
    );
    if (pending.length === 0) {
      await this.deps.redis.xgroup('DELCONSUMER', this.keys.stream, this.deps.cfg.group, this.deps.cfg.consumer);
    }
  }

  private async loop(): Promise<void> {
    await this.ensureGroup();
    await this.drainOwnPending();
    // While a batch is written to PostgreSQL, the next one is read and sorted out in Redis, so the two servers work
    // at once. A batch read ahead is handled before the loop ends, even when stopping: it is pending to this consumer.
    let readAhead: Promise<Batch | undefined> | undefined;
    while (!this.stopping || readAhead) {
      try {
        const read = readAhead ?? this.fetch();
        readAhead = undefined;
        const batch = await read;
        if (batch) {
          readAhead = this.stopping ? undefined : this.fetchAhead();
          await this.handle(batch);
        }
      } catch (error) {
        if (/NOGROUP/.test((error as Error).message)) {
          this.logger.warn('consumer group vanished (Redis lost its data?); recreating it');
          await this.ensureGroup().catch(() => undefined);
        } else {
          this.deps.metrics.sinkRetries.inc({ reason: 'redis' });
          this.logger.warn(`redis: ${(error as Error).message}`);
          await sleep(retryDelayMs(3));
        }
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.deps.redis.xgroup('CREATE', this.keys.stream, this.deps.cfg.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test((error as Error).message)) {
        throw error;
      }
    }
  }

  private async fetch(block = true): Promise<Batch | undefined> {
    const raw = (await this.claimIdle()) ?? (await this.readNew(block));

    return raw.length > 0 ? this.sortOut(raw) : undefined;
  }

  /**
   * {@link fetch} started ahead, without blocking: a blocking read would hold the shared connection, so the batch in
   * hand could not be acked until new entries came or the block timed out. Its failure is thrown where it is
   * awaited, not reported as unhandled meanwhile.
   */
  private fetchAhead(): Promise<Batch | undefined> {
    const ahead = this.fetch(false);
    ahead.catch(() => undefined);

    return ahead;
  }

  /** Entries a previous run under the same consumer name read and never acked. */
  private async drainOwnPending(): Promise<void> {
    for (;;) {
      const reply = await this.deps.redis.xreadgroup(
        'GROUP',
        this.deps.cfg.group,
        this.deps.cfg.consumer,
        'COUNT',
        this.deps.cfg.batchSize,
        'STREAMS',
        this.keys.stream,
        '0',
      );
      const entries = parseReadGroupReply(reply);
      if (entries.length === 0 || this.stopping) {
        return;
      }
      await this.handle(await this.sortOut(await this.withDeliveryCounts(entries)));
    }
  }

  private async readNew(block: boolean): Promise<RawEntry[]> {
    const { group, consumer, batchSize, blockMs } = this.deps.cfg;
    const reply = block
      ? await this.deps.redis.xreadgroup(
          'GROUP',
          group,
          consumer,
          'COUNT',
          batchSize,
          'BLOCK',
          blockMs,
          'STREAMS',
          this.keys.stream,
          '>',
        )
      : await this.deps.redis.xreadgroup(
          'GROUP',
          group,
          consumer,
          'COUNT',
          batchSize,
          'STREAMS',
          this.keys.stream,
          '>',
        );

    return parseReadGroupReply(reply);
  }

  /** Every half idle period, takes over entries other consumers have held too long; undefined when none. */
  private async claimIdle(): Promise<RawEntry[] | undefined> {
    if (Date.now() < this.nextClaimAt || this.databaseFailing) {
      return undefined;
    }
    const reply = await this.deps.redis.xautoclaim(
      this.keys.stream,
      this.deps.cfg.group,
      this.deps.cfg.consumer,
      this.deps.cfg.claimIdleMs,
      this.claimCursor,
      'COUNT',
      this.deps.cfg.batchSize,
    );
    const { cursor, entries } = parseAutoClaimReply(reply);
    this.claimCursor = cursor;
    if (cursor === '0-0') {
      this.nextClaimAt = Date.now() + Math.max(500, this.deps.cfg.claimIdleMs / 2);
    }
    if (entries.length === 0) {
      return undefined;
    }
    this.deps.metrics.sinkReclaimed.inc({ collection: this.collection.name }, entries.length);
    this.logger.log(`reclaimed ${entries.length} idle entries`);

    return this.withDeliveryCounts(entries);
  }

  private async withDeliveryCounts(entries: RawEntry[]): Promise<RawEntry[]> {
    const reply = await this.deps.redis.xpending(
      this.keys.stream,
      this.deps.cfg.group,
      entries[0].id,
      entries[entries.length - 1].id,
      entries.length,
      this.deps.cfg.consumer,
    );
    const counts = parseDeliveryCounts(reply);

    return entries.map((e) => ({ ...e, deliveries: counts.get(e.id) ?? 1 }));
  }

  /** Decodes a batch and asks Redis which of its changes are superseded. */
  private async sortOut(raw: RawEntry[]): Promise<Batch> {
    const letters: DeadLetter[] = [];
    const changes: ChangeEntry[] = [];
    const settledIds: string[] = [];
    for (const entry of raw) {
      if (entry.fields === null) {
        settledIds.push(entry.id);
      } else if (entry.deliveries > this.deps.cfg.maxDeliveries) {
        letters.push({ entry, reason: `delivered ${entry.deliveries} times without being written` });
      } else {
        try {
          changes.push(decodeEntry(entry.id, entry.fields));
        } catch (error) {
          letters.push({ entry, reason: `undecodable entry: ${(error as Error).message}` });
        }
      }
    }

    return { raw, changes, superseded: await this.supersededInRedis(changes), letters, settledIds };
  }

  private async handle({ raw, changes, superseded, letters, settledIds }: Batch): Promise<void> {
    const toWrite = superseded.size > 0 ? changes.filter((c) => !superseded.has(c)) : changes;
    const result = toWrite.length > 0 ? await this.writeWithRetry(toWrite, raw) : undefined;
    if (toWrite.length > 0 && !result) {
      return; // shutting down with the database still failing: leave the batch pending for another replica
    }
    if (result && result.rejected.length > 0) {
      const byId = new Map(raw.map((e) => [e.id, e]));
      for (const { entry, reason } of result.rejected) {
        letters.push({ entry: byId.get(entry.entryId)!, reason: `rejected by PostgreSQL: ${reason}` });
      }
    }
    await sendToDeadLetters(this.deps.redis, this.keys, this.deps.cfg.group, letters);
    const rejected = new Set(letters.map((l) => l.entry.id));
    await this.acknowledge(
      [...settledIds, ...changes.filter((c) => !rejected.has(c.entryId)).map((c) => c.entryId)],
      // A superseded delete's hash already holds a newer version: no tombstone of it is left to drop.
      toWrite.filter((c) => c.op === ChangeOp.DELETE && !rejected.has(c.entryId)),
    );
    this.record(changes, result, superseded.size, letters.length);
  }

  /**
   * Document changes whose document Redis already holds at a newer version. Each version in Redis has its own
   * entry on the stream, written atomically with it, so the newest one will bring the row there: the older ones
   * need no write. This coalesces across the whole backlog, not only within a batch; when Redis no longer holds
   * a document (expired, or a lingering tombstone gone), its changes are written as usual. Redis is asked only
   * about the changes that the answers to earlier batches do not settle ({@link KnownVersions}).
   */
  private async supersededInRedis(changes: ChangeEntry[]): Promise<Set<ChangeEntry>> {
    const documents = changes.filter((c) => c.op !== ChangeOp.EVENT);
    if (documents.length === 0) {
      return new Set();
    }
    const superseded = new Set<ChangeEntry>();
    const asked: ChangeEntry[] = [];
    for (const change of documents) {
      const verdict = this.knownVersions.verdict(change);
      if (verdict === 'superseded') {
        superseded.add(change);
      } else if (verdict === undefined) {
        asked.push(change);
      }
    }
    const answer = await this.askVersions(asked); // asked even when empty: the answer carries the epoch
    if (!this.knownVersions.learn(answer) && asked.length < documents.length) {
      return this.supersededInRedis(changes); // Redis lost its data since: what was remembered no longer holds
    }
    asked.forEach((change, i) => {
      if (answer.versions[i] > change.version) {
        superseded.add(change);
      }
    });

    return superseded;
  }

  /** One documentVersions call: the versions Redis holds of the changes' documents. */
  private async askVersions(changes: ChangeEntry[]): Promise<VersionsAnswer> {
    const ids = changes.map((c) => c.id);
    const keys = [this.keys.epoch, this.keys.stream, ...ids.map((id) => this.keys.document(id))];
    const [epoch, horizon, ...versions] = await this.deps.redis.documentVersions(keys.length, ...keys, randomUUID());

    return { epoch, horizon, ids, versions };
  }

  /** Retries while the database is down, keeping the entries claimed so no other replica takes them meanwhile. */
  private async writeWithRetry(changes: ChangeEntry[], raw: RawEntry[]): Promise<IsolatedBatchResult | undefined> {
    let lastHeartbeat = Date.now();
    for (let attempt = 0; ; attempt++) {
      const started = process.hrtime.bigint();
      try {
        const result = await this.deps.writer.writeIsolating(this.collection, changes);
        this.deps.metrics.sinkWriteDuration.observe(
          { collection: this.collection.name },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
        this.databaseFailing = false;

        return result;
      } catch (error) {
        this.databaseFailing = true;
        this.deps.metrics.sinkRetries.inc({ reason: 'database' });
        if (attempt === 0 || attempt % 10 === 0) {
          this.logger.warn(`write failed, retrying with backoff: ${describeError(error)}`);
        }
        if (this.stopping && Date.now() >= this.stopDeadline) {
          return undefined;
        }
        if (Date.now() - lastHeartbeat > this.deps.cfg.claimIdleMs / 3) {
          await this.keepClaimed(raw);
          lastHeartbeat = Date.now();
        }
        await sleep(Math.min(retryDelayMs(attempt), Math.max(0, this.stopDeadline - Date.now())));
      }
    }
  }

  /** XCLAIM … JUSTID to ourselves resets the idle time without counting a delivery. */
  private async keepClaimed(raw: RawEntry[]): Promise<void> {
    await this.deps.redis
      .xclaim(this.keys.stream, this.deps.cfg.group, this.deps.cfg.consumer, 0, ...raw.map((e) => e.id), 'JUSTID')
      .catch((error: Error) => this.logger.warn(`could not refresh claimed entries: ${error.message}`));
  }

  /** XACK after commit, and let Redis tombstones whose delete is now in PostgreSQL expire. */
  private async acknowledge(entryIds: string[], deletes: ChangeEntry[]): Promise<void> {
    if (entryIds.length === 0) {
      return;
    }
    const pipeline = this.deps.redis.pipeline();
    pipeline.xack(this.keys.stream, this.deps.cfg.group, ...entryIds);
    for (const change of deletes) {
      pipeline.dropTombstone(this.keys.document(change.id), change.version, TOMBSTONE_LINGER_S);
    }
    const replies = await pipeline.exec();
    const failed = replies?.find(([error]) => error);
    if (failed) {
      throw failed[0]!;
    }
  }

  private record(
    changes: ChangeEntry[],
    result: IsolatedBatchResult | undefined,
    superseded: number,
    rejected: number,
  ): void {
    const collection = this.collection.name;
    const { metrics } = this.deps;
    for (const outcome of ['inserted', 'updated', 'deleted'] as const) {
      metrics.sinkEntries.inc({ collection, outcome }, result?.outcome[outcome] ?? 0);
    }
    metrics.sinkEntries.inc({ collection, outcome: 'stale' }, (result?.outcome.stale ?? 0) + superseded);
    metrics.sinkEntries.inc({ collection, outcome: 'rejected' }, rejected);
    if (changes.length > 0) {
      const now = Date.now();
      const lag = metrics.sinkLag.labels({ collection });
      for (const change of changes) {
        lag.observe(Math.max(0, now - change.ingestedAt) / 1000);
      }
      metrics.sinkBatchSize.observe({ collection }, changes.length);
    }
  }
}
