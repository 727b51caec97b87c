import { testServers } from '../../../../../test/utils/servers';
import { MariadbSession } from './mariadb-session';
import { MariadbStateTablesFixture } from './state-tables.fixture';

/**
 * The session over a TypeORM query runner's mysql2 connection: rows, affected rows, and the statement limits.
 *
 * Real: MariaDB. Mocked: nothing.
 */
describe(MariadbSession.name, () => {
  const { mariadbUrl } = testServers();
  let fixture: MariadbStateTablesFixture;

  beforeAll(async () => {
    fixture = await MariadbStateTablesFixture.create(mariadbUrl, 'session', 2);
  });

  afterAll(async () => {
    await fixture?.destroy();
  });

  it('returns the rows of a query, with `?` filled in on the client (a list, a list of rows)', async () => {
    const rows = await fixture.inTransaction((sut) =>
      sut.rows<{ n: number; s: string }>(
        { name: 'ignored', text: 'SELECT n, s FROM (SELECT ? AS n, ? AS s UNION ALL SELECT ?) AS t WHERE n IN (?)' },
        [1, 'a', [2, 'b'], [1, 2]],
      ),
    );

    expect(rows).toEqual([
      { n: 1, s: 'a' },
      { n: 2, s: 'b' },
    ]);
  });

  it('returns affected rows, and no rows for a statement that returns none', async () => {
    const { table } = await fixture.collection('event');

    const [inserted, deleted, none] = await fixture.inTransaction(async (sut) => [
      await sut.changes({ name: '', text: `INSERT INTO \`${table}\` VALUES ?` }, [
        [
          ['e1', '{}', '2024-01-01 00:00:00'],
          ['e2', '{}', '2024-01-01 00:00:00'],
        ],
      ]),
      await sut.changes({ name: '', text: `DELETE FROM \`${table}\` WHERE id = ?` }, ['e1']),
      await sut.rows({ name: '', text: `DELETE FROM \`${table}\` WHERE id = ?` }, ['e2']),
    ]);

    expect([inserted, deleted, none]).toEqual([2, 1, []]);
  });

  it("reads the server's max_allowed_packet once per connection, and chunks under it, at most 16 MiB", async () => {
    const [first, again] = await fixture.inTransaction((sut) =>
      Promise.resolve([sut.statementLimits(), sut.statementLimits()]),
    );

    expect(again).toBe(first);
    expect(await first).toEqual({ maxPacket: 64 * 1024 * 1024, chunkBytes: 16 * 1024 * 1024 });
  });
});
