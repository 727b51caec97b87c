import type { ConfigType } from '@nestjs/config';
import type { ingestConfig } from '@app/config';
import type { RedisClient } from '@app/redis';
import { ConfirmingConnection } from './confirming-connection';

/** A one-server client that is ready and answers `call` as told; every other command fails the test. */
function fakeClient(reply: (command: string, args: unknown[]) => Promise<unknown>) {
  const call = vi.fn(reply);
  const client = { status: 'ready', on: vi.fn(), once: vi.fn(), call } as unknown as RedisClient;

  return { client, call };
}

const cfg = { waitReplicas: 2, waitTimeoutMs: 1500 } as ConfigType<typeof ingestConfig>;

describe(ConfirmingConnection.name, () => {
  it('confirms aof with WAITAOF 1 0 <timeout> on its own connection, and reads the local fsync count', async () => {
    const { client, call } = fakeClient(() => Promise.resolve([1, 0]));
    const open = vi.fn(() => client);
    const sut = new ConfirmingConnection(open, cfg);

    await sut.ready();
    const reached = await sut.confirm('aof', ['spw:{c.0}:stream']);

    expect(open).toHaveBeenCalledWith(expect.objectContaining({ failFast: true, name: 'spillway-confirmed' }));
    expect(call).toHaveBeenCalledExactlyOnceWith('WAITAOF', [1, 0, 1500]);
    expect(reached).toBe(true);
  });

  it('says aof was not reached when WAITAOF counts no local fsync, and replicated when WAIT counts too few', async () => {
    const { client, call } = fakeClient((command) => Promise.resolve(command === 'WAIT' ? 1 : [0, 0]));
    const sut = new ConfirmingConnection(() => client, cfg);
    await sut.ready();

    expect(await sut.confirm('aof', ['s'])).toBe(false);
    expect(await sut.confirm('replicated', ['s'])).toBe(false);
    expect(call).toHaveBeenLastCalledWith('WAIT', [2, 1500]);
  });

  it('sends one WAIT for the writes that asked while one was in flight', async () => {
    let release: (replicas: number) => void = () => undefined;
    const { client, call } = fakeClient(() => new Promise((resolve) => (release = resolve)));
    const sut = new ConfirmingConnection(() => client, cfg);
    await sut.ready();

    const first = sut.confirm('replicated', ['a']);
    const second = sut.confirm('replicated', ['b']);
    const third = sut.confirm('replicated', ['c']);
    expect(call).toHaveBeenCalledTimes(1);
    release(2);
    await first;
    expect(call).toHaveBeenCalledTimes(2);
    release(2);

    expect(await Promise.all([first, second, third])).toEqual([true, true, true]);
    expect(call).toHaveBeenCalledTimes(2);
  });

  it('counts a failed WAIT as not reached', async () => {
    const { client } = fakeClient(() => Promise.reject(new Error('Connection is closed.')));
    const sut = new ConfirmingConnection(() => client, cfg);
    await sut.ready();

    expect(await sut.confirm('replicated', ['a'])).toBe(false);
  });
});
