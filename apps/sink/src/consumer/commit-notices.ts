import type { Logger } from '@nestjs/common';
import { type ChangeEntry, type CommittedVersion, encodeCommitNotice, type PartitionKeys } from '@app/contracts';
import type { RedisClient } from '@app/redis';

/**
 * Announces what a partition's batches committed, for the ingest's `persisted` writes: ONE message per committed and
 * acked batch on the partition's `commits` channel, carrying the (id, version) of every change the database now
 * holds at that version or newer: written, or found stale (the database had it or a newer one already). Superseded
 * changes (Redis holds a newer version, not yet in the database) and dead-lettered ones are left out: their writers
 * time out and answer with the level below. Only the sinks of the default connection announce: `persisted` means the
 * default database, the one the ingest reads through; another connection's commits say nothing of it, and would
 * announce each version once per connection.
 *
 * A notice is fire-and-forget (PUBLISH, no key written, nothing stored): a lost one costs a waiting writer its
 * timeout, never data. On a Redis Cluster a PUBLISH reaches every node, so the ingest's one subscriber hears it
 * wherever it is connected.
 */
export class CommitNotices {
  constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
  ) {}

  /** Publishes the batch's commits; never throws, never holds up the loop (the reply is not awaited). */
  committed(keys: PartitionKeys, written: readonly ChangeEntry[], deadLettered: ReadonlySet<string>): void {
    const versions: CommittedVersion[] = written
      .filter((change) => !deadLettered.has(change.entryId))
      .map(({ id, version }) => ({ id, version }));
    if (versions.length === 0) {
      return;
    }
    this.redis
      .publish(keys.commits, encodeCommitNotice(versions))
      .catch((error: Error) => this.logger.warn(`could not announce commits on ${keys.commits}: ${error.message}`));
  }
}
