import { testServers } from '../../../../../../test/utils/servers';
import { LOCK_SLOT_BITS } from '../document-locks';
import { MariadbStateTablesFixture } from '../state-tables.fixture';
import { mariadbMigrations } from '.';

/**
 * Spillway's own tables on MariaDB, as the migrations make them: their shape, and that running them again changes
 * nothing.
 *
 * Real: MariaDB. Mocked: nothing.
 */
describe('mariadbMigrations', () => {
  const { mariadbUrl } = testServers();
  let fixture: MariadbStateTablesFixture;

  const slotStats = async () =>
    (
      await fixture.dataSource.query<{ slots: string; lowest: number; highest: number }[]>(
        'SELECT COUNT(*) AS slots, MIN(slot) AS lowest, MAX(slot) AS highest FROM spillway_lock_slots',
      )
    )[0];

  beforeAll(async () => {
    fixture = await MariadbStateTablesFixture.create(mariadbUrl, 'migrations', 2);
  });

  afterAll(async () => {
    await fixture?.destroy();
  });

  it('makes a lock slot for every slot number', async () => {
    expect(await slotStats()).toEqual({
      slots: String(2 ** LOCK_SLOT_BITS),
      lowest: 0,
      highest: 2 ** LOCK_SLOT_BITS - 1,
    });
  });

  it('makes spillway_tombstones keyed by collection and case-sensitive id, indexed by stream_ms', async () => {
    const indexes = await fixture.dataSource.query<{ name: string; column: string; seq: number }[]>(
      `SELECT index_name AS name, column_name AS \`column\`, seq_in_index AS seq FROM information_schema.statistics
        WHERE table_schema = DATABASE() AND table_name = 'spillway_tombstones' ORDER BY index_name, seq_in_index`,
    );
    await fixture.dataSource.query(
      `INSERT INTO spillway_tombstones VALUES ('c', 'Doc', 1, 1, NOW(6)), ('c', 'doc', 1, 1, NOW(6))`,
    );

    expect(indexes).toEqual([
      { name: 'IDX_spillway_tombstones_stream_ms_alone', column: 'stream_ms', seq: 1 },
      { name: 'PRIMARY', column: 'collection', seq: 1 },
      { name: 'PRIMARY', column: 'id', seq: 2 },
    ]);
  });

  it('changes nothing when run again', async () => {
    const runner = fixture.dataSource.createQueryRunner();
    try {
      for (const Migration of mariadbMigrations) {
        await new Migration().up(runner);
      }
    } finally {
      await runner.release();
    }

    expect(await slotStats()).toEqual({
      slots: String(2 ** LOCK_SLOT_BITS),
      lowest: 0,
      highest: 2 ** LOCK_SLOT_BITS - 1,
    });
  });
});
