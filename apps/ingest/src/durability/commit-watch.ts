import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { allPartitions, type CommittedVersion, decodeCommitNotice } from '@app/contracts';
import { REDIS_CONNECTION_FACTORY, type RedisClient, type RedisConnectionFactory } from '@app/redis';
import { redisFailure } from '../store/redis-errors';

/**
 * How long a commit is remembered: a sink's notice can come before the reply of the write it commits has been handled
 * here (the sink may read the entry as soon as the script ran), so the waiter that registers afterwards finds it.
 */
const RECENT_MS = 5000;

interface Waiter {
  version: number;
  resolve: () => void;
}

const keyOf = (collection: string, id: string) => `${collection}\n${id}`;

/**
 * The commits the sinks of the default connection announce (one message per committed batch, on each partition's
 * `commits` channel), and the `persisted` writes that wait for them. One subscriber connection, subscribed to a
 * collection's channels before its first `persisted` write is sent, so that no commit of that write can be missed.
 */
@Injectable()
export class CommitWatch implements OnApplicationShutdown {
  private readonly logger = new Logger(CommitWatch.name);
  private subscriber?: RedisClient;
  private readonly subscriptions = new Map<string, Promise<void>>();
  /** channel → collection name */
  private readonly channels = new Map<string, string>();
  /** collection and id → the newest version committed, and when it was heard of; oldest first */
  private readonly recent = new Map<string, { version: number; atMs: number }>();
  private readonly waiters = new Map<string, Set<Waiter>>();

  constructor(@Inject(REDIS_CONNECTION_FACTORY) private readonly open: RedisConnectionFactory) {}

  /** Subscribes to the collection's commit channels (once); a 503 when Redis cannot be reached, before any write. */
  watch(collection: Collection): Promise<void> {
    let subscribed = this.subscriptions.get(collection.name);
    if (!subscribed) {
      const channels = allPartitions(collection).map((keys) => keys.commits);
      channels.forEach((channel) => this.channels.set(channel, collection.name));
      subscribed = this.connection()
        .subscribe(...channels)
        .then(() => undefined);
      this.subscriptions.set(collection.name, subscribed);
      subscribed.catch(() => this.subscriptions.delete(collection.name));
    }

    return subscribed.catch((error: unknown) => {
      throw redisFailure(error, 'read');
    });
  }

  /**
   * Resolves true once every version given (or a newer one of its id) has been committed, false when `timeoutMs`
   * passes first.
   */
  async committed(collection: Collection, versions: readonly CommittedVersion[], timeoutMs: number): Promise<boolean> {
    const pending = versions.filter(({ id, version }) => !this.heard(collection.name, id, version));
    if (pending.length === 0) {
      return true;
    }
    const registered: [string, Waiter][] = [];
    const all = Promise.all(
      pending.map(
        ({ id, version }) =>
          new Promise<void>((resolve) => {
            const key = keyOf(collection.name, id);
            const waiter = { version, resolve };
            const set = this.waiters.get(key) ?? new Set();
            this.waiters.set(key, set.add(waiter));
            registered.push([key, waiter]);
          }),
      ),
    ).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
      for (const [key, waiter] of registered) {
        const set = this.waiters.get(key);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(key);
      }
    }
  }

  private heard(collection: string, id: string, version: number): boolean {
    return (this.recent.get(keyOf(collection, id))?.version ?? 0) >= version;
  }

  private connection(): RedisClient {
    if (!this.subscriber) {
      // Not fail-fast: a subscription asked for while it connects waits for it; ioredis subscribes again after a
      // reconnect. Commits announced while it is away are missed: their writes answer with the level below.
      const subscriber = this.open({ name: 'spillway-commits' });
      subscriber.on('error', (error: Error) => this.logger.warn(`redis connection: ${error.message}`));
      subscriber.on('message', (channel: string, message: string) => this.onNotice(channel, message));
      this.subscriber = subscriber;
    }

    return this.subscriber;
  }

  private onNotice(channel: string, message: string): void {
    const collection = this.channels.get(channel);
    if (collection === undefined) {
      return;
    }
    const nowMs = Date.now();
    for (const { id, version } of decodeCommitNotice(message)) {
      const key = keyOf(collection, id);
      const known = this.recent.get(key);
      if (known && known.version >= version) {
        continue;
      }
      // Deleted and set again, so the map stays in the order heard and pruning stops at the first recent one.
      this.recent.delete(key);
      this.recent.set(key, { version, atMs: nowMs });
      for (const waiter of this.waiters.get(key) ?? []) {
        if (version >= waiter.version) waiter.resolve();
      }
    }
    for (const [key, { atMs }] of this.recent) {
      if (nowMs - atMs < RECENT_MS) break;
      this.recent.delete(key);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
