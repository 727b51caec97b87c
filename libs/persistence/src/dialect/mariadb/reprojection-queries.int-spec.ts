import type { Collection, OutputTable } from '@app/collections';
import { testServers } from '../../../../../test/utils/servers';
import { mariadbQualified } from './mariadb-names';
import { collectionOf, outputTable, ScratchDatabase } from './output-tables.fixture';
import { mariadbReprojectionQueries as sut } from './reprojection-queries';

/**
 * mariadbReprojectionQueries against the test MariaDB: the walk of a state table by id, its rows, its count, and the
 * orphan rows of outputs owned by text, integer and uuid columns, found in the column's order and removed.
 *
 * Real: MariaDB (tables made by output-tables.fixture.ts), TypeORM's mysql2 pool, MariadbSession. Mocked: nothing.
 */
describe('mariadbReprojectionQueries', () => {
  const uuid = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
  const orphanUuid = 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
  let db: ScratchDatabase;
  let facts: OutputTable;
  let byNumber: OutputTable;
  let byUuid: OutputTable;
  let sessions: Collection;
  let clicks: Collection;

  const insert = async (table: string, columns: string, rows: unknown[][]) => {
    await db.reader.query(`INSERT INTO ${mariadbQualified(db.name, table)} (${columns}) VALUES ?`, [rows]);
  };

  beforeAll(async () => {
    db = await ScratchDatabase.create(testServers().mariadbUrl);
    facts = outputTable(db.name, 'facts', { 'id*': 'text', status: 'text' });
    byNumber = outputTable(db.name, 'by_number', { 'doc*': 'integer', 'pos*': 'integer' }, { isForeach: true });
    byUuid = outputTable(db.name, 'by_uuid', { 'doc*': 'uuid', 'pos*': 'integer' }, { isForeach: true });
    sessions = collectionOf(db.name, 'sessions', 'document', [facts, byNumber, byUuid]);
    clicks = collectionOf(db.name, 'clicks', 'event', []);
    await db.createTables([facts, byNumber, byUuid], [sessions, clicks]);
    const now = '2024-01-01 00:00:00';
    const ids = ['a', 'b', '042', uuid.toUpperCase(), 'abc', '1e999', '99999999999999999999999999999999999999'];
    await insert(
      'sessions',
      'id, version, doc, created_at, updated_at',
      ids.map((id, i) => [id, i + 2, JSON.stringify({ id, n: i }), now, now]),
    );
    await insert('clicks', 'id, doc, ingested_at', [['e1', '{"id":"e1"}', now]]);
    await insert('facts', 'id, status, spillway_version', [
      ['a', 'live', 1],
      ['x', 'orphan', 1],
      ['y', 'orphan', 1],
    ]);
    await insert('by_number', 'doc, pos, spillway_version', [
      [42, 1, 1],
      [42, 2, 1],
      [7, 1, 1],
      [100, 1, 1],
      [100, 2, 1],
    ]);
    await insert('by_uuid', 'doc, pos, spillway_version', [
      [uuid, 1, 1],
      [orphanUuid, 1, 1],
    ]);
  });

  afterAll(async () => {
    await db.close();
  });

  it('walks the state table by id, in pages', async () => {
    const session = await db.session();
    const pages: string[][] = [];
    let after = '';
    for (;;) {
      const page = await sut.stateIdsAfter(session, sessions, after, 3);
      if (page.length === 0) break;
      pages.push(page);
      after = page.at(-1) ?? '';
    }

    expect(pages).toEqual([
      ['042', '1e999', '99999999999999999999999999999999999999'],
      [uuid.toUpperCase(), 'a', 'abc'],
      ['b'],
    ]);
  });

  it('reads state rows with their version and parsed document; an event is version 1', async () => {
    const session = await db.session();

    const rows = await sut.stateRows(session, sessions, ['b', 'a', 'missing']);
    const events = await sut.stateRows(session, clicks, ['e1']);

    expect(rows.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', version: 2, doc: { id: 'a', n: 0 } },
      { id: 'b', version: 3, doc: { id: 'b', n: 1 } },
    ]);
    expect(events).toEqual([{ id: 'e1', version: 1, doc: { id: 'e1' } }]);
    expect(await sut.stateRows(session, sessions, [])).toEqual([]);
  });

  it('counts the state rows', async () => {
    expect(await sut.countState(db.dataSource, sessions)).toBe(7);
    expect(await sut.countState(db.dataSource, clicks)).toBe(1);
  });

  it.each([
    ['text', () => facts, ['x', 'y']],
    ['integer', () => byNumber, ['7', '100']],
    ['uuid', () => byUuid, [orphanUuid]],
  ])(
    'finds the orphan owners of an output owned by a %s column, in its order, a page at a time',
    async (_, of, expected) => {
      const session = await db.session();
      const found: string[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await sut.orphanOwners(session, of(), sessions, after, 1);
        if (page.length === 0) break;
        found.push(...page);
        after = page.at(-1) ?? null;
      }

      expect(found).toEqual(expected);
    },
  );

  it('removes the rows of orphan owners only, by text, integer and uuid owner columns', async () => {
    const removed = await db.transaction(async (session) => [
      await sut.removeOrphans(session, facts, sessions, ['x', 'y', 'a']),
      await sut.removeOrphans(session, byNumber, sessions, ['7', '100', '42']),
      await sut.removeOrphans(session, byUuid, sessions, [orphanUuid, uuid]),
    ]);

    expect(removed).toEqual([2, 3, 1]);
    expect((await db.rowsOf(facts)).map((r) => r.id)).toEqual(['a']);
    expect((await db.rowsOf(byNumber)).map((r) => [r.doc, r.pos])).toEqual([
      [42, 1],
      [42, 2],
    ]);
    expect((await db.rowsOf(byUuid)).map((r) => r.doc)).toEqual([uuid]);
  });
});
