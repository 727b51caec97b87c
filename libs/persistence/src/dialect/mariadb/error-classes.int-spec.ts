import { DataSource } from 'typeorm';
import type { Collection } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { testServers } from '../../../../../test/utils/servers';
import { mariadbErrorClasses as sut } from './error-classes';
import { mariadbStateTable } from './mariadb-names';
import { MariadbSession } from './mariadb-session';
import { mariadbStateWrites } from './state-table-writes';
import { MariadbStateTablesFixture } from './state-tables.fixture';

/**
 * How MariaDB's errors are classed, from real server errors: content (dead-letter), unavailable (retry), missing
 * table, other. The last test stops the server and starts it again.
 *
 * Real: MariaDB. Mocked: nothing.
 */
describe('mariadbErrorClasses', () => {
  const { mariadbUrl, mariadb } = testServers();
  let fixture: MariadbStateTablesFixture;
  let documents: Collection;
  let entryMs = 1_700_000_000_000;

  const put = (id: string, version: number, doc = JSON.stringify({ id })): ChangeEntry => {
    entryMs += 1;

    return { entryId: `${entryMs}-0`, op: ChangeOp.PUT, id, version, doc, ingestedAt: entryMs };
  };
  const write = (puts: ChangeEntry[], collection = documents) =>
    fixture.inTransaction((session) =>
      mariadbStateWrites.writeDocuments(session, collection, { puts, deletes: [] }, { withIds: false }),
    );
  const failureOf = async (work: () => Promise<unknown>): Promise<unknown> => {
    try {
      await work();
    } catch (error) {
      return error;
    }
    throw new Error('expected a failure');
  };
  const classed = (error: unknown) => ({ class: sut.classify(error), description: sut.describe(error) });

  beforeAll(async () => {
    fixture = await MariadbStateTablesFixture.create(mariadbUrl, 'errors');
    documents = await fixture.collection('document');
  });

  afterAll(async () => {
    await fixture?.destroy();
  });

  describe('content', () => {
    it('is invalid JSON, refused by the json column CHECK (4025)', async () => {
      const error = await failureOf(() => write([put('a', 1, '{"not json')]));

      expect(classed(error)).toEqual({
        class: 'content',
        description: expect.stringMatching(
          /^content: error 4025 \(SQLSTATE 23000\): CONSTRAINT `.*doc` failed/,
        ) as string,
      });
    });

    it('is a number out of range (1264)', async () => {
      const error = await failureOf(() => write([put('a', 2 ** 70)]));

      expect(classed(error)).toEqual({
        class: 'content',
        description: expect.stringMatching(
          /^content: error 1264 ER_WARN_DATA_OUT_OF_RANGE \(SQLSTATE 22003\): Out of range value for column 'version'/,
        ) as string,
      });
    });

    it('is an id too long for its column (1406)', async () => {
      const error = await failureOf(() => write([put('x'.repeat(300), 1)]));

      expect(classed(error)).toMatchObject({ class: 'content', description: expect.stringContaining('error 1406') });
    });

    it('is an incorrect value (1366) or datetime (1292), also behind a TypeORM QueryFailedError', async () => {
      const table = mariadbStateTable(documents);
      const badInteger = await failureOf(() =>
        fixture.dataSource.query(`INSERT INTO ${table} VALUES ('b', 'seven', '{}', NOW(6), NOW(6))`),
      );
      const badDatetime = await failureOf(() =>
        fixture.dataSource.query(`INSERT INTO ${table} VALUES ('b', 1, '{}', 'yesterday', NOW(6))`),
      );

      expect([classed(badInteger), classed(badDatetime)]).toEqual([
        { class: 'content', description: expect.stringContaining('error 1366') as string },
        { class: 'content', description: expect.stringContaining('error 1292') as string },
      ]);
    });

    it('is a duplicate key (1062)', async () => {
      const table = mariadbStateTable(documents);
      await fixture.dataSource.query(`INSERT INTO ${table} VALUES ('dup', 1, '{}', NOW(6), NOW(6))`);

      const error = await failureOf(() =>
        fixture.dataSource.query(`INSERT INTO ${table} VALUES ('dup', 1, '{}', NOW(6), NOW(6))`),
      );

      expect(classed(error)).toMatchObject({ class: 'content', description: expect.stringContaining('ER_DUP_ENTRY') });
    });

    it('is a document larger than max_allowed_packet (1153), refused before it is sent', async () => {
      await fixture.dataSource.query('SET GLOBAL max_allowed_packet = 1048576');
      const small = new DataSource({ type: 'mariadb', url: fixture.url, poolSize: 1 });
      try {
        await small.initialize();
        const runner = small.createQueryRunner();
        const session = await MariadbSession.of(runner);
        await runner.startTransaction();
        const doc = JSON.stringify({ big: 'x'.repeat(2 * 1024 * 1024) });

        const error = await failureOf(() =>
          mariadbStateWrites.writeDocuments(
            session,
            documents,
            { puts: [put('big', 1, doc)], deletes: [] },
            { withIds: false },
          ),
        );

        expect(classed(error)).toEqual({
          class: 'content',
          description: expect.stringMatching(
            /^content: error 1153 ER_NET_PACKET_TOO_LARGE \(SQLSTATE 08S01\): Got a packet bigger than 'max_allowed_packet' bytes: a statement of \d+ bytes, where 1048576 fit$/,
          ) as string,
        });
        expect(await session.rows({ name: '', text: 'SELECT 1 AS one' }, [])).toEqual([{ one: 1 }]);
        await runner.rollbackTransaction();
        await runner.release();
      } finally {
        await fixture.dataSource.query('SET GLOBAL max_allowed_packet = 67108864');
        await small.destroy().catch(() => undefined);
      }
    });
  });

  describe('unavailable', () => {
    it('is a lock wait timeout (1205)', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = fixture.inTransaction(async (session) => {
        await mariadbStateWrites.lockDocuments(session, documents.name, ['held']);
        locked();
        await held;
      });
      await isLocked;

      const error = await failureOf(() =>
        fixture.inTransaction(async (session, runner) => {
          await runner.query('SET SESSION innodb_lock_wait_timeout = 1');
          await mariadbStateWrites.lockDocuments(session, documents.name, ['held']);
        }),
      );
      release();
      await holder;

      expect(classed(error)).toEqual({
        class: 'unavailable',
        description: expect.stringMatching(/^outage: error 1205 ER_LOCK_WAIT_TIMEOUT \(SQLSTATE HY000\)/) as string,
      });
    });

    it('is a deadlock (1213)', async () => {
      const table = mariadbStateTable(documents);
      await fixture.dataSource.query(
        `INSERT INTO ${table} VALUES ('d1', 1, '{}', NOW(6), NOW(6)), ('d2', 1, '{}', NOW(6), NOW(6))`,
      );
      let arrived = 0;
      let bothHoldOne!: () => void;
      const barrier = new Promise<void>((resolve) => (bothHoldOne = resolve));
      const updateBoth = (first: string, second: string) =>
        fixture.inTransaction(async (_session, runner) => {
          await runner.query(`UPDATE ${table} SET version = version + 1 WHERE id = ?`, [first]);
          arrived += 1;
          if (arrived === 2) {
            bothHoldOne();
          }
          await barrier;
          await runner.query(`UPDATE ${table} SET version = version + 1 WHERE id = ?`, [second]);
        });

      const results = await Promise.allSettled([updateBoth('d1', 'd2'), updateBoth('d2', 'd1')]);

      const [error] = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      expect(classed(error)).toMatchObject({
        class: 'unavailable',
        description: expect.stringContaining('error 1213 ER_LOCK_DEADLOCK (SQLSTATE 40001)'),
      });
    });

    it('is a server that stops, for open connections and for new ones', async () => {
      const runner = fixture.dataSource.createQueryRunner();
      const session = await MariadbSession.of(runner);
      try {
        await mariadb.stop('graceful');

        const lost = await failureOf(() => session.rows({ name: '', text: 'SELECT 1' }, []));
        const refused = await failureOf(async () => {
          const fresh = new DataSource({ type: 'mariadb', url: fixture.url, poolSize: 1, connectTimeout: 2000 });
          await fresh.initialize();
        });

        expect([classed(lost), classed(refused)]).toEqual([
          { class: 'unavailable', description: expect.stringMatching(/^outage: /) as string },
          { class: 'unavailable', description: expect.stringMatching(/^outage: ECONNREFUSED: /) as string },
        ]);
      } finally {
        await runner.release();
        await mariadb.start();
      }
    });
  });

  describe('missing-table and other', () => {
    it('is a missing table (1146)', async () => {
      const dropped = await fixture.collection('document');
      await fixture.dataSource.query(`DROP TABLE ${mariadbStateTable(dropped)}`);

      const error = await failureOf(() => write([put('a', 1)], dropped));

      expect(classed(error)).toEqual({
        class: 'missing-table',
        description: expect.stringMatching(/^missing table: error 1146 ER_NO_SUCH_TABLE \(SQLSTATE 42S02\)/) as string,
      });
    });

    it('is a syntax error, and anything else', async () => {
      const error = await failureOf(() => fixture.dataSource.query('SELEC 1'));

      expect(classed(error)).toMatchObject({ class: 'other', description: expect.stringContaining('error 1064') });
    });
  });
});
