import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { CollectionRegistry } from '@app/collections';
import { exitOnStartupFailure } from '@app/config';
import { PartitionCountChangeRefusedError, REDIS_CLIENT, type RedisClient, settlePartitionCounts } from '@app/redis';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** How long boot waits for the counts; past it ingest serves (writes get 503) and settles them when Redis answers. */
const STARTUP_WAIT_MS = 3000;

/**
 * Holds writes back until Redis agrees with this process on every collection's partition count
 * (`settlePartitionCounts`): a write routed by another count would land in a stream and a hash nobody reads. A count
 * changed while entries wait stops ingest with one line.
 */
@Injectable()
export class PartitionCountGate implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PartitionCountGate.name);
  private settled = false;
  private closing = false;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly collections: CollectionRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const settling = settlePartitionCounts(this.redis, this.collections.all(), this.logger, () => this.closing).then(
      () => void (this.settled = true),
      (error: Error) => {
        if (error instanceof PartitionCountChangeRefusedError) exitOnStartupFailure('ingest', error);
        this.logger.debug(error.message);
      },
    );
    await Promise.race([settling, sleep(STARTUP_WAIT_MS)]);
  }

  onApplicationShutdown(): void {
    this.closing = true;
  }

  /** Throws REDIS_UNAVAILABLE (503) until the partition counts are settled. */
  assertSettled(): void {
    if (!this.settled) {
      throw new IngestException(
        IngestExceptionCode.REDIS_UNAVAILABLE,
        "Redis has not confirmed the collections' partition counts yet; retry later",
      );
    }
  }
}
