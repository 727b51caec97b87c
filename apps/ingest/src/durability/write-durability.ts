import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply } from 'fastify';
import type { Collection } from '@app/collections';
import { ingestConfig } from '@app/config';
import type { CommittedVersion, Durability } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import { DURABILITY_HEADER, requestedDurability } from './durability-header';
import { DurableWrites } from './durable-writes.service';

/** The versions an answer of a write says were written: `{id, version}`, or `_bulk`'s items that have one. */
function writtenIn(body: unknown): CommittedVersion[] {
  if (typeof body !== 'object' || body === null) {
    return [];
  }
  if ('results' in body && Array.isArray(body.results)) {
    return body.results.flatMap(writtenIn);
  }
  if ('id' in body && 'version' in body && typeof body.id === 'string' && typeof body.version === 'number') {
    return [{ id: body.id, version: body.version }];
  }

  return [];
}

/**
 * Gives a write the durability it asks for (the `Durability` header, else its collection's, else INGEST_DURABILITY):
 * refuses a bad header or a level the server cannot give before the write; waits after it for the level (one wait
 * for all of a `_bulk`'s items) and names the level reached in the `Durability` response header. The status does not
 * change when a wait times out: the write happened and cannot be taken back, and the header says how far it got.
 *
 * Each write route calls {@link around} itself. As a Nest interceptor this took every write through Nest's RxJS
 * response path (a ReplaySubject, listeners for the client going away, four operators a request), which routes
 * without one skip: 255-306 µs of the ingest's CPU a `PUT` against 169-235 as a plain call (`npm run bench -- --only
 * 2`, three runs of each).
 */
@Injectable()
export class WriteDurability {
  constructor(
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    private readonly durable: DurableWrites,
    private readonly metrics: SpillwayMetrics,
  ) {}

  /** Runs `write` at the level the request asks for (`header`: its `Durability` header); answers what `write` does. */
  async around<T>(
    collection: Collection,
    header: string | string[] | undefined,
    reply: FastifyReply,
    write: (level: Durability) => Promise<T>,
  ): Promise<T> {
    const level = requestedDurability(header, collection, this.cfg.durability);
    const who =
      header !== undefined
        ? 'the request'
        : collection.durability !== undefined
          ? `collection ${collection.name}`
          : 'INGEST_DURABILITY';
    await this.durable.prepare(collection, level, who);
    const body = await write(level);
    const reached = await this.durable.reached(collection, level, writtenIn(body));
    this.metrics.ingestDurability.inc({ collection: collection.name, requested: level, reached });
    void reply.header(DURABILITY_HEADER, reached);

    return body;
  }
}
