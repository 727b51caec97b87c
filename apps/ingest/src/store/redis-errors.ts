import { isReplyError, RedisReplyCode } from '@app/redis';
import { IngestException, IngestExceptionCode } from '../ingest.exception';

/** Codes of a connection that broke while a command may have been on it. */
const BROKEN_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE']);
/** Codes of a connection that could not be made. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTCONN', 'EHOSTUNREACH']);

const errorCode = (error: Error) => (error as NodeJS.ErrnoException).code ?? '';

/**
 * Names of ioredis errors for commands that were sent when the connection went away: MaxRetriesPerRequestError for
 * the commands in flight, AbortError ("Command aborted due to connection close") for those of a pipeline, auto-
 * pipelines included, whose earlier commands had been answered.
 */
const CUT_SHORT_NAMES = new Set(['MaxRetriesPerRequestError', 'AbortError']);

/**
 * Messages of a command that may have run: the connection closed under it; a Redis Cluster client gave up sending it
 * again ("Too many Cluster redirections", after MOVED, ASK, TRYAGAIN, CLUSTERDOWN or a lost node: one of its tries may
 * have reached a master that then went away); or it timed out waiting for its reply.
 */
const CUT_SHORT_MESSAGES = /Connection is closed|Too many Cluster redirections|Command timed out/;

/**
 * True when the connection to Redis went away after a command was sent and before its reply came: Redis may
 * have run it. (A command refused while disconnected, with the offline queue off, was never sent.)
 */
export function isOutcomeUnknown(error: unknown): boolean {
  return (
    error instanceof Error &&
    (CUT_SHORT_NAMES.has(error.name) || BROKEN_CODES.has(errorCode(error)) || CUT_SHORT_MESSAGES.test(error.message))
  );
}

/**
 * Replies of a server that is up but did not run the command: loading, a replica, and in a Redis Cluster a slot
 * without a master, a slot on another node or being migrated (when the client could not follow the redirection).
 */
const SERVER_NOT_SERVING = [
  RedisReplyCode.LOADING,
  RedisReplyCode.MASTERDOWN,
  RedisReplyCode.READONLY,
  RedisReplyCode.TRYAGAIN,
  RedisReplyCode.CLUSTERDOWN,
  RedisReplyCode.MOVED,
  RedisReplyCode.ASK,
];

/**
 * Messages of a command refused before it was sent: the offline queue is off (one server or a cluster client not
 * ready), or no node of a Redis Cluster could be reached to learn its slots.
 */
const NEVER_SENT_MESSAGES = /enableOfflineQueue|Failed to refresh slots cache|None of startup nodes is available/;

/** True for errors that mean Redis could not be reached or cannot serve yet (answer 503, not 500). */
export function isRedisUnavailable(error: unknown): boolean {
  return (
    isOutcomeUnknown(error) ||
    (error instanceof Error && (UNREACHABLE_CODES.has(errorCode(error)) || NEVER_SENT_MESSAGES.test(error.message))) ||
    isReplyError(error, ...SERVER_NOT_SERVING)
  );
}

/** What a client is told when a write's outcome is unknown. */
const OUTCOME_UNKNOWN_DETAIL =
  'Redis went away after the write was sent, so it may or may not have been applied; ' +
  'read the document to find out, or resend (an event resent with its id is stored once)';

/**
 * What a failed Redis command means for the request: OUTCOME_UNKNOWN for a write Redis may have run, REDIS_UNAVAILABLE
 * for a read, or a command that never reached Redis; any other error is returned as it is (a bug, answered 500).
 */
export function redisFailure(error: unknown, command: 'read' | 'write'): unknown {
  if (command === 'write' && isOutcomeUnknown(error)) {
    return new IngestException(IngestExceptionCode.OUTCOME_UNKNOWN, OUTCOME_UNKNOWN_DETAIL, { cause: error });
  }
  if (isRedisUnavailable(error)) {
    return new IngestException(IngestExceptionCode.REDIS_UNAVAILABLE, 'Redis cannot be reached', { cause: error });
  }

  return error;
}
