import type { RedisOptions } from 'ioredis';
import type { RedisConnectionSettings, RedisSentinelSettings } from '@app/config';
import { isReplyError, RedisReplyCode } from './redis-reply-errors';

/** How long ioredis waits before it asks the Sentinels again when none answered: as the reconnects, at most 2 s. */
const sentinelRetryDelayMs = (attempt: number) => Math.min(50 * 2 ** attempt, 2000);

/** How long a Sentinel may take to answer where the master is, before the next one is asked. */
const SENTINEL_COMMAND_TIMEOUT_MS = 1000;

/**
 * ioredis's options for a master the Sentinels name, on top of the one-server options `base`. REDIS_URL lends its
 * credentials (or REDIS_PASSWORD), its database and its scheme (`rediss://`: TLS to the master and to the Sentinels,
 * with `base`'s TLS options, the same CA for both).
 *
 * - At each (re)connect ioredis asks the Sentinels, one after the other, for the master's address (`role: 'master'`),
 *   connects to it and checks with INFO that it is a master; a replica (a Sentinel not yet told of a failover) is
 *   left for the next Sentinel. While the old master is down and no replica promoted yet, the Sentinels still name it:
 *   each try fails at once, the reconnects back off up to 2 s, and a fail-fast client answers 503 meanwhile.
 * - A failover in which the old master stays up (SENTINEL FAILOVER, a partition healed) is followed because the
 *   Sentinels make the old master drop its clients as they demote it (CLIENT KILL TYPE normal), and because a READONLY
 *   reply (the old master, demoted, answering before that) reconnects too: a fail-fast client's command fails (a 503:
 *   a replica ran nothing), any other client's is sent again to the master.
 * - No `failoverDetector` (ioredis's `+switch-master` subscriptions): a switch announced while a client is between
 *   asking a Sentinel and connecting (as every client is, over and over, while a killed master is not yet replaced)
 *   ends that client for good ("Connection is closed", ioredis issue 1683); measured in sentinel-failover.e2e-spec.ts.
 */
export function sentinelOptions(
  settings: RedisConnectionSettings,
  sentinel: RedisSentinelSettings,
  base: RedisOptions,
  failFast: boolean,
): RedisOptions {
  const url = new URL(settings.url);
  const database = Number(url.pathname.replace(/^\//, '') || 0);

  return {
    ...base,
    sentinels: sentinel.nodes,
    name: sentinel.masterName,
    role: 'master',
    db: database,
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(sentinel.password === undefined ? {} : { sentinelPassword: sentinel.password }),
    sentinelRetryStrategy: sentinelRetryDelayMs,
    sentinelCommandTimeout: SENTINEL_COMMAND_TIMEOUT_MS,
    reconnectOnError: (error) => (isReplyError(error, RedisReplyCode.READONLY) ? (failFast ? 1 : 2) : false),
    ...(settings.tls ? { enableTLSForSentinelMode: true, sentinelTLS: base.tls } : {}),
  };
}
