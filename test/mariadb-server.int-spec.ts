import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Connection, createConnection, type RowDataPacket } from 'mysql2/promise';
import { MARIADB_PASSWORD, MARIADB_USER, MariadbServer, startMariadb } from '../tools/local-stack';
import { testServers } from './utils/servers';

/**
 * What a user of the test harness relies on from the MariaDB that global-setup starts (and from startMariadb()):
 * the URL, the server's version and settings, password authentication, stop and start, and in durable mode a
 * committed row surviving a crash.
 *
 * Real: MariaDB (the shared server, and a durable one of this spec's own). Mocked: nothing.
 */
describe(MariadbServer.name, () => {
  const { mariadbUrl, mariadb: sut } = testServers();
  let connection: Connection | undefined;

  const connect = async (uri = mariadbUrl) => {
    connection = await createConnection({ uri });

    return connection;
  };
  const queryOne = async (db: Connection, sql: string, values: unknown[] = []) =>
    (await db.query<RowDataPacket[]>(sql, values))[0][0];

  afterEach(async () => {
    await connection?.end().catch(() => undefined);
    connection = undefined;
  });

  it('serves MariaDB 10.11 at mysql://spillway:spillway@127.0.0.1:<port>/spillway', async () => {
    const url = new URL(mariadbUrl);
    expect(url).toMatchObject({ protocol: 'mysql:', hostname: '127.0.0.1', pathname: '/spillway' });
    expect([url.username, url.password]).toEqual([MARIADB_USER, MARIADB_PASSWORD]);
    expect(Number(url.port)).toBe(sut.port);

    const db = await connect();

    expect(await queryOne(db, 'SELECT VERSION() AS version, DATABASE() AS db')).toEqual({
      version: expect.stringMatching(/^10\.11\.\d+-MariaDB/) as string,
      db: 'spillway',
    });
  });

  it('runs with the settings the sink is written for', async () => {
    const db = await connect();

    const settings = await queryOne(
      db,
      `SELECT @@sql_mode AS sqlMode, @@character_set_server AS charset, @@collation_server AS collation,
              @@global.time_zone AS timeZone, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW()) AS utcOffset,
              @@max_allowed_packet AS maxPacket, @@local_infile AS localInfile, @@max_connections AS maxConnections,
              @@log_bin AS logBin, @@innodb_flush_log_at_trx_commit AS flushAtCommit, @@bind_address AS bind`,
    );

    expect(String(settings?.sqlMode).split(',')).toEqual(
      expect.arrayContaining(['STRICT_TRANS_TABLES', 'ERROR_FOR_DIVISION_BY_ZERO', 'NO_ENGINE_SUBSTITUTION']),
    );
    expect(settings).toMatchObject({
      charset: 'utf8mb4',
      collation: 'utf8mb4_general_ci',
      timeZone: '+00:00',
      utcOffset: 0,
      maxPacket: 64 * 1024 * 1024,
      localInfile: 1,
      maxConnections: 200,
      logBin: 0,
      flushAtCommit: 2, // the shared server is not durable
      bind: '127.0.0.1',
    });
  });

  it('keeps ids apart under utf8mb4_nopad_bin that utf8mb4_bin and the server default confuse', async () => {
    const db = await connect();

    const compared = await queryOne(
      db,
      `SELECT 'a' = 'a ' COLLATE utf8mb4_bin AS binPads, 'a' = 'a ' COLLATE utf8mb4_nopad_bin AS nopadPads,
              'a' = 'A' AS defaultFoldsCase, 'a' = 'A' COLLATE utf8mb4_nopad_bin AS nopadFoldsCase`,
    );

    expect(compared).toEqual({ binPads: 1, nopadPads: 0, defaultFoldsCase: 1, nopadFoldsCase: 0 });
  });

  it('authenticates with the password, as a production server does', async () => {
    const wrong = new URL(mariadbUrl);
    wrong.password = 'not-the-password';
    const root = new URL(mariadbUrl);
    root.username = 'root';
    root.password = '';

    await expect(createConnection({ uri: wrong.toString() })).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
    await expect(createConnection({ uri: root.toString() })).rejects.toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
  });

  it('stops and starts again on the same port with its data, whichever way it was stopped', async () => {
    const table = `harness_${randomBytes(4).toString('hex')}`;
    const before = await connect();
    await before.query(`CREATE TABLE ${table} (id VARCHAR(64) PRIMARY KEY)`);
    await before.query(`INSERT INTO ${table} VALUES ('kept')`);
    await before.end();

    for (const mode of ['graceful', 'admin', 'kill'] as const) {
      await sut.stop(mode);
      expect(sut.isRunning()).toBe(false);
      expect(await sut.accepts()).toBe(false);
      await sut.start();
      expect(sut.isRunning()).toBe(true);
    }

    const after = await connect();
    expect(await queryOne(after, `SELECT id FROM ${table}`)).toEqual({ id: 'kept' });
    await after.query(`DROP TABLE ${table}`);
  });

  describe('durable', () => {
    let root: string;
    let durable: MariadbServer;

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), 'spillway-mariadb-spec-'));
      chmodSync(root, 0o755); // mariadbd runs as user mysql and must enter it
      durable = await startMariadb({ dir: join(root, 'mariadb'), durable: true });
    });

    afterAll(async () => {
      await durable?.stop('graceful');
      rmSync(root, { recursive: true, force: true });
    });

    it('keeps a committed row across a SIGKILL', async () => {
      const db = await connect(durable.url);
      expect(await queryOne(db, 'SELECT @@innodb_flush_log_at_trx_commit AS flushAtCommit')).toEqual({
        flushAtCommit: 1,
      });
      await db.query('CREATE TABLE crash_proof (id VARCHAR(64) PRIMARY KEY, doc JSON NOT NULL)');
      await db.beginTransaction();
      await db.query('INSERT INTO crash_proof VALUES (?, ?)', ['doc-1', JSON.stringify({ version: 1 })]);
      await db.commit();
      await db.end();

      await durable.stop('kill');
      await durable.start();

      const recovered = await connect(durable.url);
      // mysql2 parses a MariaDB JSON column (sent as LONGTEXT marked json) unless jsonStrings is set
      expect(await queryOne(recovered, 'SELECT id, doc FROM crash_proof')).toEqual({
        id: 'doc-1',
        doc: { version: 1 },
      });
    });
  });
});
