import type { Collection } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { testServers } from '../../../../../test/utils/servers';
import { mariadbStateReads as sut } from './state-table-reads';
import { mariadbStateWrites } from './state-table-writes';
import { MariadbStateTablesFixture } from './state-tables.fixture';

/**
 * What the ingest reads from MariaDB for what Redis no longer holds: documents as JSON text, and version floors.
 *
 * Real: MariaDB. Mocked: nothing.
 */
describe('mariadbStateReads', () => {
  const { mariadbUrl } = testServers();
  let fixture: MariadbStateTablesFixture;
  let documents: Collection;
  let events: Collection;
  let entryMs = 1_700_000_000_000;

  const entry = (op: ChangeOp, id: string, version: number, doc = ''): ChangeEntry => {
    entryMs += 1;

    return { entryId: `${entryMs}-0`, op, id, version, doc, ingestedAt: entryMs };
  };

  beforeAll(async () => {
    fixture = await MariadbStateTablesFixture.create(mariadbUrl, 'reads');
    documents = await fixture.collection('document');
    events = await fixture.collection('event');
    await fixture.inTransaction(async (session) => {
      await mariadbStateWrites.writeDocuments(
        session,
        documents,
        {
          puts: [
            entry(ChangeOp.PUT, 'a', 3, '{"id":"a","name":"Zoë ☃ 😀","n":[1,2]}'),
            entry(ChangeOp.PUT, 'b', 2, '{"id":"b"}'),
            ...Array.from({ length: 2_000 }, (_, i) => entry(ChangeOp.PUT, `many-${i}`, 1, '{}')),
          ],
          deletes: [entry(ChangeOp.DELETE, 'gone', 7)],
        },
        { withIds: false },
      );
      await mariadbStateWrites.writeDocuments(
        session,
        documents,
        { puts: [], deletes: [entry(ChangeOp.DELETE, 'b', 1)] },
        { withIds: false },
      );
      await mariadbStateWrites.insertEvents(session, events, [entry(ChangeOp.EVENT, 'e1', 1, '{"kind":"click"}')]);
    });
  });

  afterAll(async () => {
    await fixture?.destroy();
  });

  describe('documents', () => {
    it('reads stored documents as JSON text with their versions, events at version 1', async () => {
      expect(await sut.documents(fixture.dataSource, documents, ['a', 'gone', 'unknown'])).toEqual(
        new Map([['a', { version: 3, json: '{"id":"a","name":"Zoë ☃ 😀","n":[1,2]}' }]]),
      );
      expect(await sut.documents(fixture.dataSource, events, ['e1', 'e2'])).toEqual(
        new Map([['e1', { version: 1, json: '{"kind":"click"}' }]]),
      );
    });

    it('reads more ids than one IN list holds', async () => {
      const ids = Array.from({ length: 2_000 }, (_, i) => `many-${i}`);

      expect((await sut.documents(fixture.dataSource, documents, ids)).size).toBe(2_000);
    });

    it('reads a missing table, or a missing database, as no rows', async () => {
      const missing = { ...documents, table: 'not_made_yet' };
      const elsewhere = { ...documents, tableSchema: 'spillway_no_such_database' };

      expect(await sut.documents(fixture.dataSource, missing, ['a'])).toEqual(new Map());
      expect(await sut.documents(fixture.dataSource, elsewhere, ['a'])).toEqual(new Map());
      expect(await sut.documents(fixture.dataSource, documents, [])).toEqual(new Map());
    });
  });

  describe('versions', () => {
    it("reads each id's row and tombstone versions, 0 where there is none", async () => {
      expect(await sut.versions(fixture.dataSource, documents, ['a', 'b', 'gone', 'unknown'])).toEqual(
        new Map([
          ['a', { row: 3, deleted: 0 }],
          ['b', { row: 2, deleted: 1 }],
          ['gone', { row: 0, deleted: 7 }],
          ['unknown', { row: 0, deleted: 0 }],
        ]),
      );
    });

    it('reads no row versions for events', async () => {
      expect(await sut.versions(fixture.dataSource, events, ['e1'])).toEqual(new Map([['e1', { row: 0, deleted: 0 }]]));
    });

    it('reads zeros from a missing table', async () => {
      const missing = { ...documents, name: 'not-made-yet', table: 'not_made_yet' };

      expect(await sut.versions(fixture.dataSource, missing, ['a'])).toEqual(new Map([['a', { row: 0, deleted: 0 }]]));
    });
  });
});
