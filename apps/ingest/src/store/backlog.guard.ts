import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Collection } from '@app/collections';
import { ingestConfig } from '@app/config';
import { StreamStatsService } from '@app/metrics';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { PartitionCountGate } from './partition-count.gate';

/**
 * Refuses writes: REDIS_UNAVAILABLE (503) until the partition counts are settled, BACKLOG_FULL (429) while a
 * collection's unwritten backlog is over INGEST_MAX_BACKLOG.
 */
@Injectable()
export class BacklogGuard {
  constructor(
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    private readonly streams: StreamStatsService,
    private readonly partitionCounts: PartitionCountGate,
  ) {}

  assertAccepting(collection: Collection, incoming = 1): void {
    this.partitionCounts.assertSettled();
    const backlog = this.streams.get(collection.name)?.backlog ?? 0;
    if (backlog + incoming > this.cfg.maxBacklog) {
      throw new IngestException(
        IngestExceptionCode.BACKLOG_FULL,
        `the ${collection.name} backlog holds ${backlog} unwritten entries (limit ${this.cfg.maxBacklog}); retry later`,
      );
    }
  }
}
