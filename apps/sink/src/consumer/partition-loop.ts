import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Collection } from '@app/collections';
import type { PartitionKeys } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import { PartitionConsumer, type PartitionConsumerDeps } from './partition-consumer';
import type { LeasedLoop } from './partition-lease-keeper';

/** Beyond the stop deadline, how long a loop may take to notice it (a read in flight) before its connection closes. */
const STOP_GRACE_MS = 2000;
/** How long leaving the group may take on the way out; the maintenance removes an idle consumer later anyway. */
const LEAVE_TIMEOUT_MS = 1000;

/** Whether the promise settled (either way) within `ms`; an unref'd timer, so it never holds the process open. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = new AbortController();
  const settled = promise.then(
    () => true,
    () => true,
  );
  const timedOut = sleep(ms, false, { ref: false, signal: timeout.signal }).catch(() => false);
  const result = await Promise.race([settled, timedOut]);
  timeout.abort();

  return result;
}

/**
 * One partition's consumer loop on a blocking connection of its own, from the moment the sink takes the partition's
 * lease until it gives it up: the connection exists only while the partition is read here.
 */
export class PartitionLoop implements LeasedLoop {
  private readonly logger: Logger;
  private readonly consumer: PartitionConsumer;
  private readonly done: Promise<void>;
  private finished = false;
  private stopping?: Promise<void>;

  constructor(
    readonly collection: Collection,
    readonly keys: PartitionKeys,
    private readonly redis: RedisClient,
    deps: Omit<PartitionConsumerDeps, 'redis'>,
    private readonly deadlineMs: number,
  ) {
    this.logger = new Logger(`PartitionLoop:${keys.stream}:${deps.connection}`);
    redis.on('error', (error: Error) => this.logger.debug(`redis: ${error.message}`));
    this.consumer = new PartitionConsumer(collection, keys, { ...deps, redis });
    this.done = this.consumer
      .run()
      .catch((error: Error) => this.logger.error(`loop stopped: ${error.message}`))
      .finally(() => {
        this.finished = true;
      });
  }

  /** True once the loop has ended, asked to or not: a loop that ended by itself no longer reads its partition. */
  get ended(): boolean {
    return this.finished;
  }

  /** True while the last write attempt failed for a reason other than the data: readiness reports it. */
  get databaseFailing(): boolean {
    return this.consumer.databaseFailing;
  }

  /**
   * Stops reading, lets the batch in hand commit and ack (until the deadline), leaves the group when it holds
   * nothing, and closes the connection; a read stuck on an unreachable Redis is cut off by the close. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();

    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    const stopped = await settlesWithin(this.consumer.stop(this.deadlineMs), this.deadlineMs + STOP_GRACE_MS);
    if (stopped) {
      await settlesWithin(this.consumer.leaveGroupIfIdle(), LEAVE_TIMEOUT_MS);
    } else {
      this.logger.warn('loop still busy past the stop deadline; closing its connection');
    }
    this.redis.disconnect();
    await settlesWithin(this.done, STOP_GRACE_MS);
  }
}
