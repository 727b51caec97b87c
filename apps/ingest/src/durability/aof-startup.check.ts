import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { CollectionRegistry } from '@app/collections';
import { ingestConfig } from '@app/config';
import { IngestException } from '../ingest.exception';
import { DurableWrites } from './durable-writes.service';
import { aofRefusal } from './redis-server-facts';

/** Thrown at start when INGEST_DURABILITY or a collection asks for `aof` and this Redis cannot give it. */
export class DurabilityStartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * Refuses to start when INGEST_DURABILITY or a collection's `durability:` is `aof` and the Redis behind ingest has no
 * WAITAOF (before 7.2) or no AOF: one line naming what asked and the server's version. When Redis cannot be reached
 * at start, the check is left to each request.
 */
@Injectable()
export class AofStartupCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger(AofStartupCheck.name);

  constructor(
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    private readonly collections: CollectionRegistry,
    private readonly durable: DurableWrites,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const askers = [
      ...(this.cfg.durability === 'aof' ? ['INGEST_DURABILITY'] : []),
      ...this.collections
        .all()
        .filter((c) => c.durability === 'aof')
        .map((c) => `collection ${c.name} (${c.file})`),
    ];
    const [first] = askers;
    if (first === undefined) {
      return;
    }
    let facts;
    try {
      facts = await this.durable.serverFacts();
    } catch (error) {
      const reason = error instanceof IngestException ? error.message : String(error);
      this.logger.warn(`could not ask Redis whether it can give durability aof (${reason}); each request will`);

      return;
    }
    const refusal = aofRefusal(facts, first);
    if (refusal !== undefined) {
      throw new DurabilityStartupError(refusal);
    }
  }
}
