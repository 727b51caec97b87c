import { databaseConnections, splitList, validate } from './env.schema';

describe(validate.name, () => {
  it('applies the contract defaults to an empty environment', () => {
    const sut = validate({});

    expect(sut).toMatchObject({
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/spillway',
      COLLECTIONS_DIR: 'config/collections',
      INGEST_MAX_BODY: 1048576,
      INGEST_MAX_BACKLOG: 1_000_000,
      SINK_GROUP: 'spillway',
      SINK_BATCH_SIZE: 500,
      SINK_CLAIM_IDLE_MS: 30_000,
      SINK_MAX_DELIVERIES: 5,
      SINK_SHUTDOWN_MS: 10_000,
    });
  });

  it('takes SINK_ENTITIES when every path exists, resolved from the working directory', () => {
    expect(validate({ SINK_ENTITIES: 'package.json, tsconfig.json' })).toMatchObject({
      SINK_ENTITIES: 'package.json, tsconfig.json',
    });
    expect(() => validate({ SINK_ENTITIES: 'package.json,missing/entities.js' })).toThrow(
      /SINK_ENTITIES must be comma-separated paths of compiled JavaScript modules that exist/,
    );
    expect(splitList(' a.js, ,b.js ')).toEqual(['a.js', 'b.js']);
  });

  it('converts numbers given as strings', () => {
    expect(validate({ SINK_BATCH_SIZE: '250', PORT: '8080' })).toMatchObject({ SINK_BATCH_SIZE: 250, PORT: 8080 });
  });

  it('names every bad setting in one line', () => {
    const sut = () => validate({ SINK_BATCH_SIZE: 'lots', REDIS_URL: 'http://x', LOG_LEVEL: 'chatty' });

    expect(sut).toThrow(/^Invalid environment: .*SINK_BATCH_SIZE.*"lots"/);
    expect(sut).toThrow(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL \(got "http:\/\/x"\)/);
    expect(sut).toThrow(/LOG_LEVEL/);
    try {
      sut();
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('refuses a document TTL shorter than a version floor may take to be used', () => {
    expect(() => validate({ INGEST_DOC_TTL_S: '30' })).toThrow(/INGEST_DOC_TTL_S must not be less than 60/);
    expect(validate({ INGEST_DOC_TTL_S: '60' })).toMatchObject({ INGEST_DOC_TTL_S: 60 });
  });

  it('takes a MariaDB or MySQL DATABASE_URL, and refuses other schemes', () => {
    expect(validate({ DATABASE_URL: 'mysql://u:p@127.0.0.1:3306/spillway' }).DATABASE_URL).toMatch(/^mysql:/);
    expect(validate({ DATABASE_URL: 'mariadb://u@db/spillway' }).DATABASE_URL).toMatch(/^mariadb:/);
    expect(() => validate({ DATABASE_URL: 'oracle://db/x' })).toThrow(
      /DATABASE_URL must be a postgres:\/\/, postgresql:\/\/, mysql:\/\/ or mariadb:\/\/ URL/,
    );
  });

  it('lists the named connections with their URLs after the default one', () => {
    const raw = {
      DATABASE_URL: 'postgres://pg/spillway',
      SPILLWAY_CONNECTIONS: 'analytics, legacy',
      SPILLWAY_CONNECTION_ANALYTICS_URL: 'mariadb://u:secret@maria/analytics',
      SPILLWAY_CONNECTION_LEGACY_URL: 'postgresql://old/db',
      SINK_CONNECTIONS: 'analytics',
    };

    expect(databaseConnections(validate(raw), raw)).toEqual([
      { name: 'default', url: 'postgres://pg/spillway' },
      { name: 'analytics', url: 'mariadb://u:secret@maria/analytics' },
      { name: 'legacy', url: 'postgresql://old/db' },
    ]);
  });

  it('refuses a connection without its URL, a bad URL without printing it, and an unknown SINK_CONNECTIONS', () => {
    const sut = () =>
      validate({
        SPILLWAY_CONNECTIONS: 'analytics,legacy',
        SPILLWAY_CONNECTION_LEGACY_URL: 'ftp://u:secret@x',
        SINK_CONNECTIONS: 'default,reports',
      });

    expect(sut).toThrow(/SPILLWAY_CONNECTIONS names analytics, so SPILLWAY_CONNECTION_ANALYTICS_URL must be set/);
    expect(sut).toThrow(/SPILLWAY_CONNECTION_LEGACY_URL must be a postgres:\/\//);
    expect(sut).toThrow(/SINK_CONNECTIONS names reports, which is not a connection \(default, analytics, legacy\)/);
    expect(sut).not.toThrow(/secret/);
    expect(() => validate({ SPILLWAY_CONNECTIONS: 'Analytics' })).toThrow(/SPILLWAY_CONNECTIONS must be/);
    expect(() =>
      validate({ SPILLWAY_CONNECTIONS: 'default', SPILLWAY_CONNECTION_DEFAULT_URL: 'postgres://x/y' }),
    ).toThrow(/"default" is DATABASE_URL's connection/);
  });
});
