import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ingestConfig } from '@app/config';
import { rateLimitKey } from '@app/contracts';
import { REDIS_CLIENT, type RedisClient } from '@app/redis';
import { IngestException } from '../ingest.exception';
import { redisFailure } from '../store/redis-errors';
import { ApiKeys } from './api-keys';
import { problemBody, problemOf } from './problem-details.filter';

const MICROSECONDS_A_SECOND = 1_000_000;

/**
 * INGEST_RATE_LIMIT: requests a second to /v1 for each API key, or each client address for requests without a valid
 * key (every request when no keys are set, so key guessing is limited too). Checked in Fastify's onRequest hook, before
 * the body is read or parsed, against one counter in Redis that every ingest replica shares (limitRate-1.lua: GCRA,
 * a burst of one second's requests). Over the limit: 429 with Retry-After, in whole seconds.
 */
@Injectable()
export class RateLimitHook implements OnModuleInit {
  private readonly logger = new Logger('RateLimit');
  private readonly intervalUs: number;
  private readonly toleranceUs: number;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly keys: ApiKeys,
  ) {
    this.intervalUs = Math.max(1, Math.round(MICROSECONDS_A_SECOND / Math.max(1, cfg.rateLimit)));
    this.toleranceUs = this.intervalUs * (Math.max(1, cfg.rateLimit) - 1);
  }

  onModuleInit(): void {
    if (this.cfg.rateLimit === 0) {
      return;
    }
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply) => this.limit(request, reply));
  }

  /** The client a request counts against: its API key if it presents a valid one, else its address. */
  private clientOf(request: FastifyRequest): string {
    const key = this.keys.required ? this.keys.identify(request.headers.authorization) : undefined;

    return key ? key.id : `addr:${request.ip}`;
  }

  private async limit(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (!request.routeOptions.url?.startsWith('/v1/')) {
      return undefined;
    }
    let waitMs: number;
    try {
      waitMs = await this.redis.limitRate(rateLimitKey(this.clientOf(request)), this.intervalUs, this.toleranceUs);
    } catch (error) {
      return this.answerFailure(reply, error);
    }
    if (waitMs <= 0) {
      return undefined;
    }
    const detail = `more than ${this.cfg.rateLimit} requests a second; retry after ${waitMs} ms`;

    return reply
      .code(429)
      .header('Retry-After', String(Math.ceil(waitMs / 1000)))
      .type('application/problem+json')
      .send(problemBody(429, detail));
  }

  /** Redis gone: 503 with Retry-After, as every other request then; anything else is a bug, logged and answered 500. */
  private answerFailure(reply: FastifyReply, error: unknown): FastifyReply {
    const failure = redisFailure(error, 'read');
    if (failure instanceof IngestException) {
      const problem = problemOf(failure);

      return reply
        .code(problem.status)
        .headers(problem.headers ?? {})
        .type('application/problem+json')
        .send(problemBody(problem.status, problem.detail));
    }
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error({ message: 'rate limit check failed', error: message });

    return reply.code(500).type('application/problem+json').send(problemBody(500, 'internal error'));
  }
}
