import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isOutcomeUnknown, isRedisUnavailable, OUTCOME_UNKNOWN_DETAIL } from '../store/redis-errors';

interface Problem {
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

/** The RFC 9457 body of a problem answer, for the filter and for answers written outside Nest. */
export function problemBody(status: number, detail: string): Record<string, unknown> {
  return { type: `https://spillway.dev/problems/${status}`, title: TITLES[status] ?? 'Error', status, detail };
}

/** Terminus answers a failed readiness check with its result object; name the failing checks. */
function fromHealthCheck(error: HttpException): Problem | undefined {
  const response = error.getResponse() as { status?: unknown; error?: Record<string, unknown> };
  if (response.status !== 'error' || typeof response.error !== 'object') {
    return undefined;
  }

  return {
    status: error.getStatus(),
    title: TITLES[error.getStatus()] ?? 'Error',
    detail: `failing checks: ${Object.keys(response.error).join(', ')}`,
    extensions: { checks: response },
  };
}

function fromHttpException(error: HttpException): Problem {
  const health = fromHealthCheck(error);
  if (health) {
    return health;
  }
  const status = error.getStatus();
  const response = error.getResponse();
  const message =
    typeof response === 'string' ? response : ((response as { message?: string | string[] }).message ?? error.message);
  const headers = (response as { headers?: Record<string, string> }).headers;

  return {
    status,
    title: TITLES[status] ?? 'Error',
    detail: Array.isArray(message) ? message.join('; ') : message,
    headers,
  };
}

/** Answers every error as RFC 9457 application/problem+json. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Http');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const isWrite = host.switchToHttp().getRequest<{ method: string }>().method !== 'GET';
    const problem = this.toProblem(error, isWrite);
    for (const [name, value] of Object.entries(problem.headers ?? {})) {
      void reply.header(name, value);
    }
    void reply
      .status(problem.status)
      .type('application/problem+json')
      .send({ ...problemBody(problem.status, problem.detail), title: problem.title, ...problem.extensions });
  }

  private toProblem(error: unknown, isWrite: boolean): Problem {
    if (error instanceof HttpException) {
      return fromHttpException(error);
    }
    if (isOutcomeUnknown(error) && isWrite) {
      const extensions = { outcome: 'unknown' };

      return {
        status: 503,
        title: TITLES[503],
        detail: OUTCOME_UNKNOWN_DETAIL,
        headers: { 'Retry-After': '1' },
        extensions,
      };
    }
    if (isRedisUnavailable(error)) {
      return { status: 503, title: TITLES[503], detail: 'Redis cannot be reached', headers: { 'Retry-After': '1' } };
    }
    this.logger.error({ message: 'unhandled error', error: (error as Error).message, stack: (error as Error).stack });

    return { status: HttpStatus.INTERNAL_SERVER_ERROR, title: TITLES[500], detail: 'internal error' };
  }
}
