/**
 * Codes of the Redis error replies Spillway tells apart. A reply error's message starts with its code
 * (`NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option`); Redis 7 keeps the code first
 * when a command called by a Lua script fails.
 */
export enum RedisReplyCode {
  /** The stream or its consumer group does not exist (never made, or Redis lost its data). */
  NOGROUP = 'NOGROUP',
  /** XGROUP CREATE of a group that already exists. */
  BUSYGROUP = 'BUSYGROUP',
  /** The server is still loading its data set into memory. */
  LOADING = 'LOADING',
  /** A replica lost its link to the master and is configured not to serve stale data. */
  MASTERDOWN = 'MASTERDOWN',
  /** A write sent to a read-only replica. */
  READONLY = 'READONLY',
  /** A multi-key command during a Cluster resharding: try again later. */
  TRYAGAIN = 'TRYAGAIN',
  /** Redis Cluster: a slot has no master (the cluster is down, or this node cannot reach a majority). */
  CLUSTERDOWN = 'CLUSTERDOWN',
  /** Redis Cluster: the slot is served by another node (the command did not run). */
  MOVED = 'MOVED',
  /** Redis Cluster: the slot is being migrated and the key is on the target already (the command did not run). */
  ASK = 'ASK',
}

/**
 * The code of a Redis error reply: the first word of its message. Undefined for any other error (a broken
 * connection, a refused command, a client-side timeout), whatever its message says.
 */
export function replyErrorCode(error: unknown): string | undefined {
  // ioredis rejects with redis-errors' ReplyError, which its typings declare as `any`: told apart by name.
  if (!(error instanceof Error) || error.name !== 'ReplyError') {
    return undefined;
  }
  const space = error.message.indexOf(' ');

  return space === -1 ? error.message : error.message.slice(0, space);
}

/** True when `error` is a Redis error reply with one of `codes`. */
export function isReplyError(error: unknown, ...codes: RedisReplyCode[]): boolean {
  const code = replyErrorCode(error);
  const wanted: readonly string[] = codes;

  return code !== undefined && wanted.includes(code);
}
