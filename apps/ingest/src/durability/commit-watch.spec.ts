import { EventEmitter } from 'node:events';
import type { Collection } from '@app/collections';
import { encodeCommitNotice, partitionKeys } from '@app/contracts';
import type { RedisClient } from '@app/redis';
import { CommitWatch } from './commit-watch';

const collection = { name: 'docs', partitions: 2 } as Collection;
const channel = (partition: number) => partitionKeys('docs', partition).commits;

/** A subscriber connection that takes every subscription and lets the test deliver messages. */
function fakeSubscriber() {
  const emitter = new EventEmitter();
  const subscribe = vi.fn(() => Promise.resolve(2));
  const client = Object.assign(emitter, { subscribe }) as unknown as RedisClient;
  const publish = (partition: number, versions: { id: string; version: number }[]) =>
    emitter.emit('message', channel(partition), encodeCommitNotice(versions));

  return { client, subscribe, publish };
}

describe(CommitWatch.name, () => {
  it("subscribes once to every partition's commit channel", async () => {
    const { client, subscribe } = fakeSubscriber();
    const sut = new CommitWatch(() => client);

    await sut.watch(collection);
    await sut.watch(collection);

    expect(subscribe).toHaveBeenCalledExactlyOnceWith(channel(0), channel(1));
  });

  it('resolves once each version, or a newer one, is announced', async () => {
    const { client, publish } = fakeSubscriber();
    const sut = new CommitWatch(() => client);
    await sut.watch(collection);

    const waiting = sut.committed(
      collection,
      [
        { id: 'a', version: 2 },
        { id: 'b', version: 1 },
      ],
      5000,
    );
    publish(0, [{ id: 'a', version: 1 }]);
    publish(1, [{ id: 'b', version: 1 }]);
    publish(0, [{ id: 'a', version: 3 }]);

    expect(await waiting).toBe(true);
  });

  it('finds a commit announced before the writer started waiting', async () => {
    const { client, publish } = fakeSubscriber();
    const sut = new CommitWatch(() => client);
    await sut.watch(collection);

    publish(1, [{ id: 'early', version: 4 }]);

    expect(await sut.committed(collection, [{ id: 'early', version: 4 }], 10)).toBe(true);
  });

  it('answers false when the timeout passes first, and forgets the waiter', async () => {
    const { client, publish } = fakeSubscriber();
    const sut = new CommitWatch(() => client);
    await sut.watch(collection);

    const started = Date.now();
    const reached = await sut.committed(collection, [{ id: 'late', version: 1 }], 50);
    publish(0, [{ id: 'late', version: 1 }]);

    expect(reached).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});
