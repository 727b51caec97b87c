import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ingestConfig } from '@app/config';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

function sameKey(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);

  return left.length === right.length && timingSafeEqual(left, right);
}

/** When INGEST_API_KEYS is set, every /v1 request needs `Authorization: Bearer <key>`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(ingestConfig.KEY) private readonly cfg: ConfigType<typeof ingestConfig>) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.cfg.apiKeys.length === 0) {
      return true;
    }
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization ?? '';
    const given = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (given !== undefined && this.cfg.apiKeys.some((key) => sameKey(key, given))) {
      return true;
    }
    throw new IngestException(
      IngestExceptionCode.UNAUTHORIZED,
      'a valid API key is required: Authorization: Bearer <key>',
    );
  }
}
