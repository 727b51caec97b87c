import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCommandEnv } from './command-env';
import { loadSecretFiles, withSecretFiles } from './secret-files';
import { shownValue } from './secret-settings';

describe(withSecretFiles.name, () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);

    return path;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-secrets-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every secret setting from its _FILE, trailing line breaks trimmed, and drops the _FILE variable', () => {
    const sut = withSecretFiles({
      REDIS_URL_FILE: file('redis', 'redis://:pw@127.0.0.1:6379\n'),
      REDIS_PASSWORD_FILE: file('redis-password', 'pw\r\n'),
      DATABASE_URL_FILE: file('db', 'postgres://u:pw@127.0.0.1/db'),
      SPILLWAY_CONNECTION_ANALYTICS_URL_FILE: file('analytics', 'mysql://u:pw@127.0.0.1/a\n\n'),
      INGEST_API_KEYS_FILE: file('keys', 'k1\nk2:orders:ro\n'),
      LOG_LEVEL: 'debug',
    });

    expect(sut).toEqual({
      REDIS_URL: 'redis://:pw@127.0.0.1:6379',
      REDIS_PASSWORD: 'pw',
      DATABASE_URL: 'postgres://u:pw@127.0.0.1/db',
      SPILLWAY_CONNECTION_ANALYTICS_URL: 'mysql://u:pw@127.0.0.1/a',
      INGEST_API_KEYS: 'k1\nk2:orders:ro',
      LOG_LEVEL: 'debug',
    });
  });

  it('leaves a _FILE variable of a setting that is not secret alone, and an empty one counts as unset', () => {
    expect(withSecretFiles({ COLLECTIONS_DIR_FILE: '/x', REDIS_URL_FILE: '', REDIS_URL: 'redis://h' })).toEqual({
      COLLECTIONS_DIR_FILE: '/x',
      REDIS_URL: 'redis://h',
    });
  });

  it('refuses both forms at once, naming both variables and not the value', () => {
    const path = file('db', 'postgres://u:hidden@h/db');

    expect(() => withSecretFiles({ DATABASE_URL: 'postgres://u:other@h/db', DATABASE_URL_FILE: path })).toThrow(
      'DATABASE_URL and DATABASE_URL_FILE are both set; set one of them',
    );
  });

  it('refuses a file it cannot read or that is empty, naming the variable and the path', () => {
    const missing = join(dir, 'missing');
    expect(() => withSecretFiles({ REDIS_PASSWORD_FILE: missing })).toThrow(
      `REDIS_PASSWORD_FILE: cannot read ${missing} (ENOENT)`,
    );
    const empty = file('empty', '\n');
    expect(() => withSecretFiles({ INGEST_API_KEYS_FILE: empty })).toThrow(`INGEST_API_KEYS_FILE: ${empty} is empty`);
  });

  it('gives the CLI (readCommandEnv) the URLs from their files too', () => {
    const sut = readCommandEnv({
      DATABASE_URL_FILE: file('db', 'postgres://u:pw@h/db\n'),
      SPILLWAY_CONNECTIONS: 'analytics',
      SPILLWAY_CONNECTION_ANALYTICS_URL_FILE: file('a', 'mysql://u:pw@h/a\n'),
    });

    expect(sut.connections).toEqual([
      { name: 'default', url: 'postgres://u:pw@h/db' },
      { name: 'analytics', url: 'mysql://u:pw@h/a' },
    ]);
  });

  it('loadSecretFiles puts the values into the environment given, once', () => {
    const env: NodeJS.ProcessEnv = { REDIS_PASSWORD_FILE: file('p', 'pw\n') };

    loadSecretFiles(env);
    loadSecretFiles(env);

    expect(env).toEqual({ REDIS_PASSWORD: 'pw' });
  });
});

describe(shownValue.name, () => {
  it.each([
    ['LOG_LEVEL', 'chatty', '"chatty"'],
    ['REDIS_URL', 'http://x', '"http://x"'],
    ['REDIS_URL', 'http://user:pw@x:1/0', '"http://user:***@x:1/0"'],
    ['DATABASE_URL', 'mysqlx://:pw@h/db', '"mysqlx://:***@h/db"'],
    ['SPILLWAY_CONNECTION_A_URL', 'x://u:pw@h', '"x://u:***@h"'],
    ['REDIS_PASSWORD', 'pw', '(value not shown)'],
    ['INGEST_API_KEYS', 'k1', '(value not shown)'],
  ])('shows %s=%j as %s', (name, value, shown) => {
    expect(shownValue(name, value)).toBe(shown);
  });
});
