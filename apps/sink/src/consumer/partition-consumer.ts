import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import type { Collection } from '@app/collections';
import type { SinkConfig } from '@app/config';
import { ChangeOp, type PartitionKeys } from '@app/contracts';
import type { SpillwayMetrics } from '@app/metrics';
import { retryDelayMs } from '@app/persistence';
import { isReplyError, onServerChange, RedisReplyCode, type RedisClient } from '@app/redis';
import type { BatchWriter } from '../upsert/batch-writer';
import {
  changesToWrite,
  gathersMore,
  mergeBatches,
  PARTIAL_READ_WAIT_MS,
  waitsForMore,
  withoutSupersededContent,
} from './batch-gathering';
import { recordBatch } from './batch-metrics';
import { rejectedLetters, type SortedBatch, sortEntries } from './batch-sorting';
import type { CommitNotices } from './commit-notices';
import { PartitionStream } from './partition-stream';
import { ReplicaWait } from './replica-wait';
import { RetryingBatchWriter, type WriteOutcome } from './retrying-batch-writer';
import type { RawEntry } from './stream-replies';
import { SupersededFilter } from './superseded-filter';

export interface PartitionConsumerDeps {
  redis: RedisClient;
  /** Writes into the database of {@link connection}. */
  writer: BatchWriter;
  metrics: SpillwayMetrics;
  /** The sink's settings, with the consumer group of {@link connection}. */
  cfg: SinkConfig;
  /** The connection written to, for metrics and logs. */
  connection: string;
  /**
   * True for the default connection alone: once it has a delete, the document's hash in Redis (the delete marker the
   * ingest's reads and version floors rely on until the default database holds the delete) may expire.
   */
  dropsDeleteMarkers: boolean;
  /** Announces each committed batch to the ingest's `persisted` writes: the default connection's sinks alone. */
  commitNotices?: CommitNotices;
}

const NOTHING_TO_WRITE: WriteOutcome = { kind: 'nothing-to-write' };

/**
 * Reads one partition stream in the consumer group and writes it behind, batch by batch:
 * XREADGROUP (and XAUTOCLAIM of idle entries) → one transaction → XACK after commit.
 */
export class PartitionConsumer {
  private readonly logger: Logger;
  private readonly stream: PartitionStream;
  private readonly superseded: SupersededFilter;
  private readonly replicaWait: ReplicaWait;
  private readonly writer: RetryingBatchWriter;
  private running?: Promise<void>;
  private stopping = false;
  private stopDeadline = Number.POSITIVE_INFINITY;

  constructor(
    private readonly collection: Collection,
    private readonly keys: PartitionKeys,
    private readonly deps: PartitionConsumerDeps,
  ) {
    this.logger = new Logger(`PartitionConsumer:${keys.stream}:${deps.connection}`);
    this.stream = new PartitionStream(deps.redis, keys, deps.cfg);
    this.superseded = new SupersededFilter(
      (ids) => this.stream.versionsOf(ids),
      () =>
        this.logger.warn(
          "Redis lost this partition's data (its epoch changed: a failover to a replica that lacked it, a restart " +
            'without persistence, or FLUSHALL); the versions it knew are forgotten and asked again',
        ),
    );
    this.replicaWait = new ReplicaWait(deps.redis, keys.replicationMark, deps.cfg);
    this.writer = new RetryingBatchWriter(
      collection,
      this.stream,
      { writer: deps.writer, connection: deps.connection, metrics: deps.metrics, cfg: deps.cfg, logger: this.logger },
      () => this.stopDeadline,
    );
    // A connection made again, or a cluster slot served by another node, may reach a server that lacks what the old
    // one held (a replica that lagged).
    onServerChange(deps.redis, keys.stream, () => {
      this.superseded.forget();
      this.replicaWait.forget();
    });
  }

  /** True while the last write attempt failed for a reason other than the data: readiness reports it. */
  get databaseFailing(): boolean {
    return this.writer.databaseFailing;
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
  leaveGroupIfIdle(): Promise<void> {
    return this.stream.leaveGroupIfIdle();
  }

  private async loop(): Promise<void> {
    await this.stream.ensureGroup();
    await this.drainOwnPending();
    // While a batch is written to PostgreSQL, the next one is read and sorted out in Redis, so the two servers work
    // at once. A batch read ahead is handled before the loop ends, even when stopping: it is pending to this consumer.
    let readAhead: Promise<SortedBatch | undefined> | undefined;
    while (!this.stopping || readAhead) {
      try {
        const read = readAhead ?? this.fetch();
        readAhead = undefined;
        const batch = await read;
        if (batch) {
          // Behind a partial batch the stream is empty for now: a read ahead would come back with a sliver, written as
          // a batch of its own. The next read follows the write instead, and takes what came in during it.
          readAhead = this.stopping || batch.raw.length < this.deps.cfg.batchSize ? undefined : this.fetchAhead();
          await this.handle(batch);
        }
      } catch (error) {
        if (isReplyError(error, RedisReplyCode.NOGROUP)) {
          this.logger.warn('consumer group vanished (Redis lost its data?); recreating it');
          await this.stream.ensureGroup().catch(() => undefined);
        } else {
          this.deps.metrics.sinkRetries.inc({ reason: 'redis', connection: this.deps.connection });
          this.logger.warn(`redis: ${(error as Error).message}`);
          await sleep(retryDelayMs(3));
        }
      }
    }
  }

  /**
   * A batch to write: one read; a partial read of a busy stream with the next one, read a few ms later (see
   * {@link waitsForMore}); or, for a collection with outputs on PostgreSQL while the backlog is deep, several full
   * reads gathered (see {@link gathersMore}). Gathering did not pay elsewhere: a plain collection's batch is one
   * statement on PostgreSQL, whose cost gathering barely lowers, while the reads it holds longer cost the sink more in
   * garbage collection than that saves; on MariaDB the mapped drain measured slower gathered.
   */
  private async fetch(block = true): Promise<SortedBatch | undefined> {
    const { batchSize } = this.deps.cfg;
    const first = await this.fetchOnce(block);
    if (first && !this.stopping && waitsForMore(first, batchSize)) {
      await sleep(PARTIAL_READ_WAIT_MS);
      const rest = await this.fetchOnce(false, batchSize - first.raw.length);

      return rest ? mergeBatches([first, rest]) : first;
    }
    if (!first || !this.deps.writer.gathersReads(this.collection)) {
      return first;
    }
    // Each read held for a gathered write lets go of its superseded documents at once, while they are young.
    const reads = [first];
    let toWrite = changesToWrite(first);
    let last: SortedBatch | undefined = first;
    while (last && !this.stopping && gathersMore(toWrite, last, reads.length, batchSize)) {
      if (reads.length === 1) {
        reads[0] = withoutSupersededContent(first);
      }
      last = await this.fetchOnce(false);
      if (last) {
        reads.push(withoutSupersededContent(last));
        toWrite += changesToWrite(last);
      }
    }

    return reads.length === 1 ? reads[0] : mergeBatches(reads);
  }

  private async fetchOnce(block: boolean, count = this.deps.cfg.batchSize): Promise<SortedBatch | undefined> {
    const raw = (await this.claimIdle()) ?? (await this.stream.readNew(block, count));

    return raw.length > 0 && (await this.heldByReplicas()) ? this.sortOut(raw) : undefined;
  }

  /** Waits until replicas of the partition's master hold what was read (see ReplicaWait); false when stopping first. */
  private heldByReplicas(): Promise<boolean> {
    return this.replicaWait.replicated(
      () => this.stopping,
      (replicas) =>
        this.logger.warn(
          `waiting for ${replicas} replica(s) of the partition's Redis master to hold the batch before writing it`,
        ),
    );
  }

  /**
   * {@link fetch} started ahead, without blocking: a blocking read would hold the shared connection, so the batch in
   * hand could not be acked until new entries came or the block timed out. Its failure is thrown where it is
   * awaited, not reported as unhandled meanwhile.
   */
  private fetchAhead(): Promise<SortedBatch | undefined> {
    const ahead = this.fetch(false);
    ahead.catch(() => undefined);

    return ahead;
  }

  /** Entries a previous run under the same consumer name read and never acked. */
  private async drainOwnPending(): Promise<void> {
    for (;;) {
      const entries = await this.stream.readOwnPending();
      if (entries.length === 0 || this.stopping || !(await this.heldByReplicas())) {
        return;
      }
      await this.handle(await this.sortOut(await this.stream.withDeliveryCounts(entries)));
    }
  }

  /** Entries other consumers have held too long, taken over; none while the database is failing. */
  private async claimIdle(): Promise<RawEntry[] | undefined> {
    if (this.writer.databaseFailing) {
      return undefined;
    }
    const claimed = await this.stream.claimIdle();
    if (claimed) {
      this.deps.metrics.sinkReclaimed.inc(
        { collection: this.collection.name, connection: this.deps.connection },
        claimed.length,
      );
      this.logger.log(`reclaimed ${claimed.length} idle entries`);
    }

    return claimed;
  }

  /** Decodes a batch and asks Redis which of its changes are superseded. */
  private async sortOut(raw: RawEntry[]): Promise<SortedBatch> {
    const sorted = sortEntries(raw, this.deps.cfg.maxDeliveries);

    return { ...sorted, superseded: await this.superseded.supersededIn(sorted.changes) };
  }

  private async handle({ raw, changes, superseded, letters, settledIds }: SortedBatch): Promise<void> {
    const toWrite = superseded.size > 0 ? changes.filter((c) => !superseded.has(c)) : changes;
    const written = toWrite.length > 0 ? await this.writer.write(toWrite, raw) : NOTHING_TO_WRITE;
    if (written.kind === 'outage') {
      return; // shutting down with the database still failing: leave the batch pending for another replica
    }
    if (written.kind === 'written') {
      letters.push(...rejectedLetters(raw, written.rejected));
    }
    await this.stream.deadLetter(letters);
    const deadLettered = new Set(letters.map((l) => l.entry.id));
    await this.stream.acknowledge(
      [...settledIds, ...changes.filter((c) => !deadLettered.has(c.entryId)).map((c) => c.entryId)],
      // A superseded delete's hash already holds a newer version: no tombstone of it is left to drop.
      this.deps.dropsDeleteMarkers
        ? toWrite.filter((c) => c.op === ChangeOp.DELETE && !deadLettered.has(c.entryId))
        : [],
    );
    this.deps.commitNotices?.committed(this.keys, toWrite, deadLettered);
    recordBatch(
      this.deps.metrics,
      { collection: this.collection.name, connection: this.deps.connection },
      {
        changes,
        written,
        superseded: superseded.size,
        deadLettered: letters.length,
      },
    );
  }
}
