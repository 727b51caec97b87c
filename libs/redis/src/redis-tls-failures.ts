import { Logger } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';
import { tlsFailureMessage } from '@app/config';
import type { RedisClient } from './redis-client';

/** A failure that goes on is logged again this often, so that the reason stays in a recent page of the log. */
const RELOG_MS = 60_000;

const failures = new WeakMap<object, { message: string; loggedAt: number }>();
const logger = new Logger('Redis');

function remember(client: object, message: string | undefined): void {
  if (message === undefined) return;
  const last = failures.get(client);
  if (last?.message === message && Date.now() - last.loggedAt < RELOG_MS) return;
  logger.error(message);
  failures.set(client, { message, loggedAt: Date.now() });
}

/**
 * Watches a `rediss://` client for TLS failures (a plain one is left alone): each one is logged (`TLS verification
 * failed for Redis 127.0.0.1:6380: …`; the same one again once a minute at most) and kept, until the client is ready,
 * for readiness to report ({@link redisTlsFailure}).
 * ioredis reconnects after a failed handshake as after any lost connection, so the process waits, not ready, until
 * the certificate (or the CA file) is put right: it never goes on in plain TCP.
 */
export function watchTlsFailures<T extends Redis | Cluster>(client: T): T {
  // Only TLS clients: a listener of 'error' would also silence ioredis's own report of errors nobody listens to.
  const tls = client instanceof Cluster ? client.options.redisOptions?.tls : client.options.tls;
  if (!tls) {
    return client;
  }
  if (client instanceof Cluster) {
    client.on('node error', (error: unknown, address: string) =>
      remember(client, tlsFailureMessage(`Redis ${address}`, error)),
    );
  } else {
    const { host, port, sentinels, name } = client.options;
    const server = sentinels
      ? `the Redis master ${name ?? ''} (or its Sentinels)`
      : `Redis ${host ?? 'localhost'}:${port ?? 6379}`;
    client.on('error', (error: unknown) => remember(client, tlsFailureMessage(server, error)));
  }
  client.on('ready', () => failures.delete(client));

  return client;
}

/** Why TLS failed on the client's last try to connect, while it is not ready; undefined otherwise. */
export function redisTlsFailure(client: RedisClient): string | undefined {
  return client.status === 'ready' ? undefined : failures.get(client)?.message;
}
