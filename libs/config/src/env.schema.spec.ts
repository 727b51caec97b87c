import { databaseConnections, splitList, validate } from './env.schema';
import { redisConnectionSettings } from './redis-connection';

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
      SINK_LEASE_TTL_MS: 10_000,
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

  it('takes scoped API keys and a rate limit, and names a bad key entry or URL without showing the secret', () => {
    expect(validate({ INGEST_API_KEYS: 'k1,k2:sessions:ro', INGEST_RATE_LIMIT: '50' })).toMatchObject({
      INGEST_RATE_LIMIT: 50,
    });
    expect(() => validate({ INGEST_RATE_LIMIT: '0' })).toThrow(/INGEST_RATE_LIMIT must not be less than 1/);
    const badKey = () => validate({ INGEST_API_KEYS: 'k1,hidden-key:sessions:rx' });
    expect(badKey).toThrow('Invalid environment: INGEST_API_KEYS entry 2 has an access other than rw or ro');
    expect(badKey).not.toThrow(/hidden-key/);
    const badUrl = () => validate({ REDIS_URL: 'http://user:hidden-pw@h:1' });
    expect(badUrl).toThrow(/\(got "http:\/\/user:\*\*\*@h:1"\)/);
    expect(badUrl).not.toThrow(/hidden-pw/);
  });

  it('refuses a document TTL shorter than a version floor may take to be used', () => {
    expect(() => validate({ INGEST_DOC_TTL_S: '30' })).toThrow(/INGEST_DOC_TTL_S must not be less than 60/);
    expect(validate({ INGEST_DOC_TTL_S: '60' })).toMatchObject({ INGEST_DOC_TTL_S: 60 });
  });

  it('takes the durability settings, memory by default, and names a bad level', () => {
    expect(validate({})).toMatchObject({
      INGEST_DURABILITY: 'memory',
      INGEST_WAIT_REPLICAS: 1,
      INGEST_WAIT_TIMEOUT_MS: 2000,
      INGEST_PERSIST_TIMEOUT_MS: 5000,
    });
    expect(validate({ INGEST_DURABILITY: 'persisted', INGEST_WAIT_REPLICAS: '2' })).toMatchObject({
      INGEST_DURABILITY: 'persisted',
      INGEST_WAIT_REPLICAS: 2,
    });
    expect(() => validate({ INGEST_DURABILITY: 'disk' })).toThrow(
      /INGEST_DURABILITY must be one of memory, replicated, aof, persisted \(got "disk"\)/,
    );
    expect(() => validate({ INGEST_WAIT_TIMEOUT_MS: '0' })).toThrow(/INGEST_WAIT_TIMEOUT_MS must not be less than 1/);
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

  it('takes Redis Cluster seed nodes, with the credentials of REDIS_URL or REDIS_PASSWORD', () => {
    const env = validate({
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-1.local:7001,[::1]:7002',
      REDIS_URL: 'rediss://spillway:p%40ss@ignored:6379',
    });

    expect(redisConnectionSettings(env)).toEqual({
      url: 'rediss://spillway:p%40ss@ignored:6379',
      clusterNodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-1.local', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: 'spillway',
      password: 'p@ss',
      tls: true,
    });
    expect(redisConnectionSettings(validate({ REDIS_PASSWORD: 's3cret' }))).toEqual({
      url: 'redis://127.0.0.1:6379',
      password: 's3cret',
      tls: false,
    });
  });

  it('refuses seed nodes that are not host:port, and a database other than 0 in cluster mode', () => {
    expect(() => validate({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2' })).toThrow(
      /REDIS_CLUSTER_NODES must be comma-separated host:port seed nodes .*\("10.0.0.2" is not host:port\)/,
    );
    expect(() => validate({ REDIS_CLUSTER_NODES: 'a:70000' })).toThrow(/"a:70000" is not host:port/);
    expect(() => validate({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://:pw@x/2' })).toThrow(
      /REDIS_URL selects database 2, but a Redis Cluster \(REDIS_CLUSTER_NODES\) has only database 0/,
    );
    expect(() => validate({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_URL: 'redis://:pw@x/2' })).not.toThrow(/pw/);
    expect(validate({ REDIS_URL: 'redis://x/2' }).REDIS_URL).toBe('redis://x/2');
  });

  it('takes Redis Sentinels and the master name, with the credentials of REDIS_URL or REDIS_PASSWORD', () => {
    const env = validate({
      REDIS_SENTINELS: '10.0.0.1:26379, sentinel-1.local:26379',
      REDIS_SENTINEL_NAME: 'spillway',
      REDIS_URL: 'redis://spillway@ignored/3',
      REDIS_PASSWORD: 's3cret',
    });

    expect(redisConnectionSettings(env)).toEqual({
      url: 'redis://spillway@ignored/3',
      sentinel: {
        nodes: [
          { host: '10.0.0.1', port: 26379 },
          { host: 'sentinel-1.local', port: 26379 },
        ],
        masterName: 'spillway',
      },
      username: 'spillway',
      password: 's3cret',
      tls: false,
    });
  });

  it('refuses one Sentinel setting without the other, Sentinels that are not host:port, and Sentinels with a cluster', () => {
    expect(() => validate({ REDIS_SENTINELS: 'a:26379' })).toThrow(
      /REDIS_SENTINELS and REDIS_SENTINEL_NAME go together: set both .* or neither/,
    );
    expect(() => validate({ REDIS_SENTINEL_NAME: 'spillway' })).toThrow(/go together/);
    expect(() => validate({ REDIS_SENTINELS: 'a:26379,b', REDIS_SENTINEL_NAME: 'spillway' })).toThrow(
      /REDIS_SENTINELS must be comma-separated host:port of Redis Sentinels.*\("b" is not host:port\)/,
    );
    expect(() =>
      validate({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'spillway', REDIS_CLUSTER_NODES: 'a:7000' }),
    ).toThrow(/REDIS_SENTINELS and REDIS_SENTINEL_NAME \(Sentinel\) cannot be used with REDIS_CLUSTER_NODES/);
  });
});
