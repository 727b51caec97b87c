import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IngestException, IngestExceptionCode } from '../ingest.exception';
import { ApiKeys, refusalOf } from './api-keys';

/**
 * When INGEST_API_KEYS is set, every /v1 request needs `Authorization: Bearer <key>` with one of them (401), and the
 * key's scope must allow the request (403: a write with a read-only key, a collection outside its list). No answer
 * repeats the key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.keys.required) {
      return true;
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = this.keys.identify(request.headers.authorization);
    if (key === undefined) {
      throw new IngestException(
        IngestExceptionCode.UNAUTHORIZED,
        'a valid API key is required: Authorization: Bearer <key>',
      );
    }
    const { collection } = request.params as { collection?: string };
    const refusal = refusalOf(key, collection, request.method);
    if (refusal !== undefined) {
      throw new IngestException(IngestExceptionCode.FORBIDDEN, refusal);
    }

    return true;
  }
}
