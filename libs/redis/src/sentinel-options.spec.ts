import type { RedisConnectionSettings } from '@app/config';
import { sentinelOptions } from './sentinel-options';

const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

describe(sentinelOptions.name, () => {
  const sentinel = { nodes: [{ host: '10.0.0.1', port: 26379 }], masterName: 'spillway' };
  const settings: RedisConnectionSettings = {
    url: 'redis://spillway@ignored:6379/2',
    sentinel,
    username: 'spillway',
    password: 's3cret',
    tls: false,
  };

  it("asks the Sentinels for the master, with REDIS_URL's user, database and the password of the base options", () => {
    const sut = sentinelOptions(settings, sentinel, { protocol: 2, password: 's3cret' }, true);

    expect(sut).toMatchObject({
      protocol: 2,
      sentinels: sentinel.nodes,
      name: 'spillway',
      role: 'master',
      db: 2,
      username: 'spillway',
      password: 's3cret',
    });
    expect(sut.failoverDetector).toBeUndefined();
    expect(sut.enableTLSForSentinelMode).toBeUndefined();
  });

  it('reconnects on READONLY: failing the command of a fail-fast client, sending it again otherwise', () => {
    const failFast = sentinelOptions(settings, sentinel, {}, true).reconnectOnError;
    const patient = sentinelOptions(settings, sentinel, {}, false).reconnectOnError;
    const readOnly = replyError("READONLY You can't write against a read only replica.");

    expect(failFast?.(readOnly)).toBe(1);
    expect(patient?.(readOnly)).toBe(2);
    expect(patient?.(replyError('NOGROUP No such key'))).toBe(false);
  });

  it('reaches the master and the Sentinels over TLS with the base options for rediss://', () => {
    const tls = { ca: 'PEM' };
    const sut = sentinelOptions({ ...settings, url: 'rediss://ignored', tls: true }, sentinel, { tls }, false);

    expect(sut).toMatchObject({ tls, sentinelTLS: tls, enableTLSForSentinelMode: true, db: 0 });
  });
});
