import {
  type CallHandler,
  createParamDecorator,
  type ExecutionContext,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { from, mergeMap, type Observable, switchMap } from 'rxjs';
import { type Collection, CollectionRegistry } from '@app/collections';
import { ingestConfig } from '@app/config';
import type { CommittedVersion, Durability } from '@app/contracts';
import { SpillwayMetrics } from '@app/metrics';
import { DURABILITY_HEADER, requestedDurability } from './durability-header';
import { DurableWrites } from './durable-writes.service';

/** Where the interceptor leaves the level asked for, for {@link WriteDurability}. */
const LEVEL = Symbol('durability');

type CarriesLevel = FastifyRequest<{ Params: { collection?: string } }> & { [LEVEL]?: Durability };

/** The durability level the write asks for, as {@link DurabilityInterceptor} resolved it (default `memory`). */
export const WriteDurability = createParamDecorator(
  (_: unknown, context: ExecutionContext): Durability =>
    context.switchToHttp().getRequest<CarriesLevel>()[LEVEL] ?? 'memory',
);

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
 */
@Injectable()
export class DurabilityInterceptor implements NestInterceptor {
  constructor(
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    private readonly registry: CollectionRegistry,
    private readonly durable: DurableWrites,
    private readonly metrics: SpillwayMetrics,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<CarriesLevel>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const collection = this.registry.find(request.params.collection ?? '');
    if (!collection) {
      return next.handle(); // the collection pipe answers 404
    }

    return from(this.prepare(collection, request)).pipe(
      switchMap((level) =>
        next.handle().pipe(mergeMap((body: unknown) => this.answer(collection, level, body, reply))),
      ),
    );
  }

  private async prepare(collection: Collection, request: CarriesLevel): Promise<Durability> {
    const header = request.headers[DURABILITY_HEADER.toLowerCase()];
    const level = requestedDurability(header, collection, this.cfg.durability);
    const who =
      header !== undefined
        ? 'the request'
        : collection.durability !== undefined
          ? `collection ${collection.name}`
          : 'INGEST_DURABILITY';
    await this.durable.prepare(collection, level, who);
    request[LEVEL] = level;

    return level;
  }

  private async answer(
    collection: Collection,
    level: Durability,
    body: unknown,
    reply: FastifyReply,
  ): Promise<unknown> {
    const reached = await this.durable.reached(collection, level, writtenIn(body));
    this.metrics.ingestDurability.inc({ collection: collection.name, requested: level, reached });
    void reply.header(DURABILITY_HEADER, reached);

    return body;
  }
}
