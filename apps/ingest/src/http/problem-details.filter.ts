import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** One problem answer (RFC 9457). */
export interface Problem {
  status: number;
  title: string;
  detail: string;
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 section 3.2). */
  extensions?: Record<string, unknown>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const titleOf = (status: number): string => TITLES[status] ?? 'Error';

/** The HTTP status each domain error is answered with. */
const STATUS_OF_CODE: Record<IngestExceptionCode, HttpStatus> = {
  [IngestExceptionCode.UNAUTHORIZED]: HttpStatus.UNAUTHORIZED,
  [IngestExceptionCode.FORBIDDEN]: HttpStatus.FORBIDDEN,
  [IngestExceptionCode.UNKNOWN_COLLECTION]: HttpStatus.NOT_FOUND,
  [IngestExceptionCode.WRONG_COLLECTION_KIND]: HttpStatus.METHOD_NOT_ALLOWED,
  [IngestExceptionCode.UNSUPPORTED_CHARSET]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [IngestExceptionCode.MALFORMED_JSON]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.INVALID_BODY]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.INVALID_ID]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.INVALID_DURABILITY]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.DURABILITY_UNSUPPORTED]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.INVALID_IF_MATCH]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.INVALID_DOCUMENT]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.INVALID_QUERY]: HttpStatus.BAD_REQUEST,
  [IngestExceptionCode.NOT_FOUND]: HttpStatus.NOT_FOUND,
  [IngestExceptionCode.ALREADY_EXISTS]: HttpStatus.CONFLICT,
  [IngestExceptionCode.VERSION_MISMATCH]: HttpStatus.PRECONDITION_FAILED,
  [IngestExceptionCode.BACKLOG_FULL]: HttpStatus.TOO_MANY_REQUESTS,
  [IngestExceptionCode.REDIS_UNAVAILABLE]: HttpStatus.SERVICE_UNAVAILABLE,
  [IngestExceptionCode.OUTCOME_UNKNOWN]: HttpStatus.SERVICE_UNAVAILABLE,
  [IngestExceptionCode.DATABASE_UNAVAILABLE]: HttpStatus.SERVICE_UNAVAILABLE,
  [IngestExceptionCode.BULK_UNAVAILABLE]: HttpStatus.SERVICE_UNAVAILABLE,
};

/** Answers a client may simply send again in a moment carry `Retry-After` (seconds). */
const RETRY_AFTER_SECONDS = 1;
const RETRY_LATER = new Set([
  IngestExceptionCode.BACKLOG_FULL,
  IngestExceptionCode.REDIS_UNAVAILABLE,
  IngestExceptionCode.OUTCOME_UNKNOWN,
]);

/** The RFC 9457 body of a problem answer, for the filter and for answers written outside Nest. */
export function problemBody(status: number, detail: string): Record<string, unknown> {
  return { type: `https://spillway.dev/problems/${status}`, title: titleOf(status), status, detail };
}

/** How a domain error is answered: by the filter for a request, and per item by `_bulk`. */
export function problemOf(error: IngestException): Problem {
  const status = STATUS_OF_CODE[error.code];

  return {
    status,
    title: titleOf(status),
    detail: error.message,
    headers: RETRY_LATER.has(error.code) ? { 'Retry-After': String(RETRY_AFTER_SECONDS) } : undefined,
    // Redis may have applied the write: the client must read to find out, or resend.
    extensions: error.code === IngestExceptionCode.OUTCOME_UNKNOWN ? { outcome: 'unknown' } : undefined,
  };
}

/** Terminus answers a failed readiness check with its result object; name the failing checks. */
function fromHealthCheck(error: HttpException): Problem | undefined {
  const response = error.getResponse() as { status?: unknown; error?: Record<string, unknown> };
  if (response.status !== 'error' || typeof response.error !== 'object') {
    return undefined;
  }

  return {
    status: error.getStatus(),
    title: titleOf(error.getStatus()),
    detail: `failing checks: ${Object.keys(response.error).join(', ')}`,
    extensions: { checks: response },
  };
}

/** Nest's and Fastify's own refusals (an unknown route, a body over the limit, another content type) and Terminus's. */
function fromHttpException(error: HttpException): Problem {
  const health = fromHealthCheck(error);
  if (health) {
    return health;
  }
  const status = error.getStatus();
  const response = error.getResponse();
  const message =
    typeof response === 'string' ? response : ((response as { message?: string | string[] }).message ?? error.message);

  return { status, title: titleOf(status), detail: Array.isArray(message) ? message.join('; ') : message };
}

/** Answers every error as RFC 9457 application/problem+json. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const problem = this.toProblem(error);
    for (const [name, value] of Object.entries(problem.headers ?? {})) {
      void reply.header(name, value);
    }
    void reply
      .status(problem.status)
      .type('application/problem+json')
      .send({ ...problemBody(problem.status, problem.detail), title: problem.title, ...problem.extensions });
  }

  private toProblem(error: unknown): Problem {
    if (error instanceof IngestException) {
      return problemOf(error);
    }
    if (error instanceof HttpException) {
      return fromHttpException(error);
    }
    const { message, stack } = error instanceof Error ? error : { message: String(error), stack: undefined };
    this.logger.error({ message: 'unhandled error', error: message, stack });

    return { status: HttpStatus.INTERNAL_SERVER_ERROR, title: titleOf(500), detail: 'internal error' };
  }
}
