import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { Collection } from '@app/collections';
import { ingestConfig } from '@app/config';
import { type CommittedVersion, documentKeys, type Durability } from '@app/contracts';
import { REDIS_CLIENT, type RedisClient } from '@app/redis';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { redisFailure } from '../store/redis-errors';
import { CommitWatch } from './commit-watch';
import { ConfirmingConnection } from './confirming-connection';
import { aofRefusal, parseServerFacts, type RedisServerFacts } from './redis-server-facts';

/** How long what INFO said is trusted: a failover or an upgrade may put another server behind the same address. */
const FACTS_TTL_MS = 30_000;

/**
 * What a write's durability level takes: before the write, what it needs (the confirming connection, the commit
 * channels, a server that can give it); after, the wait, and the level actually reached. A wait that times out does
 * not undo the write: the level reached is then the one below (`memory`).
 */
@Injectable()
export class DurableWrites {
  private facts?: { atMs: number; facts: Promise<RedisServerFacts> };

  constructor(
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly confirming: ConfirmingConnection,
    private readonly commits: CommitWatch,
  ) {}

  /**
   * Readies what `level` needs for a write of `collection`; throws (and nothing is written) when it cannot be given:
   * 400 for `aof` on a server without WAITAOF or AOF, 503 when Redis cannot be reached. `who` asked for the level.
   */
  async prepare(collection: Collection, level: Durability, who: string): Promise<void> {
    switch (level) {
      case 'memory':
        return;
      case 'aof': {
        const refusal = aofRefusal(await this.serverFacts(), who);
        if (refusal !== undefined) {
          throw new IngestException(IngestExceptionCode.DURABILITY_UNSUPPORTED, refusal);
        }
        await this.confirming.ready();

        return;
      }
      case 'replicated':
        await this.confirming.ready();

        return;
      case 'persisted':
        await this.commits.watch(collection);

        return;
    }
  }

  /** The level the writes reached (all of them: one wait for the lot), once it is known or the wait timed out. */
  async reached(collection: Collection, level: Durability, written: readonly CommittedVersion[]): Promise<Durability> {
    if (written.length === 0) {
      return level; // nothing was written, so nothing falls short of it
    }
    switch (level) {
      case 'memory':
        return level;
      case 'replicated':
      case 'aof': {
        const streams = written.map(({ id }) => documentKeys(collection, id).stream);

        return (await this.confirming.confirm(level, streams)) ? level : 'memory';
      }
      case 'persisted':
        return (await this.commits.committed(collection, written, this.cfg.persistTimeoutMs)) ? level : 'memory';
    }
  }

  /** INFO of the server behind the shared connection, read again after {@link FACTS_TTL_MS}. */
  serverFacts(): Promise<RedisServerFacts> {
    const nowMs = Date.now();
    if (!this.facts || nowMs - this.facts.atMs > FACTS_TTL_MS) {
      const facts = this.redis.info().then(parseServerFacts, (error: unknown) => {
        this.facts = undefined;
        throw redisFailure(error, 'read');
      });
      this.facts = { atMs: nowMs, facts };
    }

    return this.facts.facts;
  }
}
