import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@nestjs/common';
import type { Collection } from '@app/collections';
import type { SinkConfig } from '@app/config';
import type { ChangeEntry } from '@app/contracts';
import type { SpillwayMetrics } from '@app/metrics';
import { retryDelayMs } from '@app/persistence';
import type { BatchResult } from '../upsert/batch-result';
import type { BatchWriter } from '../upsert/batch-writer';
import type { PartitionStream } from './partition-stream';
import type { RawEntry } from './stream-replies';

/** What became of a batch's changes in the database. */
export type WriteOutcome =
  /** Committed; the entries refused for their content (if any) are left out of it, to be dead-lettered. */
  | ({ kind: 'written' } & BatchResult)
  /** Every change was superseded, or there was none: nothing was sent to the database. */
  | { kind: 'nothing-to-write' }
  /** Stopping, and the database was still failing at the deadline: the batch stays pending for another replica. */
  | { kind: 'outage'; error: unknown };

export interface RetryingBatchWriterDeps {
  writer: BatchWriter;
  /** The connection the writer writes to, for the metrics. */
  connection: string;
  metrics: SpillwayMetrics;
  cfg: SinkConfig;
  logger: Logger;
}

/**
 * Writes a partition's batches, retrying while the database is down, keeping the entries claimed so no other replica
 * takes them meanwhile, until the consumer's stop deadline.
 */
export class RetryingBatchWriter {
  /** True while the last write attempt failed for a reason other than the data: readiness reports it. */
  databaseFailing = false;

  constructor(
    private readonly collection: Collection,
    private readonly stream: PartitionStream,
    private readonly deps: RetryingBatchWriterDeps,
    /** When to give up retrying: +Infinity until the consumer stops. */
    private readonly stopDeadline: () => number,
  ) {}

  /** Writes the changes of the batch `raw` was read as; retries database failures until the stop deadline. */
  async write(changes: ChangeEntry[], raw: RawEntry[]): Promise<WriteOutcome> {
    const { writer, metrics, cfg, logger } = this.deps;
    let lastHeartbeat = Date.now();
    for (let attempt = 0; ; attempt++) {
      const started = process.hrtime.bigint();
      try {
        const result = await writer.writeIsolating(this.collection, changes);
        metrics.sinkWriteDuration.observe(
          { collection: this.collection.name, connection: this.deps.connection },
          Number(process.hrtime.bigint() - started) / 1e9,
        );
        this.databaseFailing = false;

        return { kind: 'written', ...result };
      } catch (error) {
        this.databaseFailing = true;
        metrics.sinkRetries.inc({ reason: 'database', connection: this.deps.connection });
        if (attempt === 0 || attempt % 10 === 0) {
          logger.warn(`write failed, retrying with backoff: ${writer.describeError(error)}`);
        }
        if (Date.now() >= this.stopDeadline()) {
          return { kind: 'outage', error };
        }
        if (Date.now() - lastHeartbeat > cfg.claimIdleMs / 3) {
          await this.stream
            .keepClaimed(raw.map((e) => e.id))
            .catch((error: Error) => logger.warn(`could not refresh claimed entries: ${error.message}`));
          lastHeartbeat = Date.now();
        }
        await sleep(Math.min(retryDelayMs(attempt), Math.max(0, this.stopDeadline() - Date.now())));
      }
    }
  }
}
