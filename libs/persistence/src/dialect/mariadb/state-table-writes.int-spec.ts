import type { Collection } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { testServers } from '../../../../../test/utils/servers';
import type { Statement } from '../sql-dialect';
import { mariadbErrorClasses } from './error-classes';
import { mariadbStateTable } from './mariadb-names';
import { MariadbSession } from './mariadb-session';
import { RowsLiteral } from './row-literals';
import { mariadbStateWrites as sut } from './state-table-writes';
import { MariadbStateTablesFixture } from './state-tables.fixture';
import { MAX_PLACEHOLDERS } from './statement-chunks';

/** A session that records the values of every `?` list it sends, to see how statements were chunked. */
class RecordingSession extends MariadbSession {
  readonly sent: { text: string; rows: number; values: number; bytes: number }[] = [];

  override async changes(statement: Statement, values: readonly unknown[]): Promise<number> {
    const [rows] = values as unknown[][][];
    if (rows instanceof RowsLiteral) {
      const { length } = rows.rows;
      this.sent.push({ text: statement.text, rows: length, values: length * rows.valuesPerRow, bytes: rows.bytes });
    } else if (Array.isArray(rows)) {
      const flat = rows.flat();
      const bytes = flat.reduce<number>((sum, v) => sum + (typeof v === 'string' ? Buffer.byteLength(v) : 8), 0);
      this.sent.push({ text: statement.text, rows: rows.length, values: flat.length, bytes });
    }

    return super.changes(statement, values);
  }
}

/**
 * MariaDB's state-table writes against the real server, in a database of their own: the version and tombstone
 * guards, tombstones newer-only, events once, exact counts and ids, and chunking of large batches.
 *
 * Real: MariaDB. Mocked: nothing.
 */
describe('mariadbStateWrites', () => {
  const { mariadbUrl } = testServers();
  let fixture: MariadbStateTablesFixture;
  let documents: Collection;
  let entryMs = 1_700_000_000_000;

  const entry = (op: ChangeOp, id: string, version: number, doc?: string): ChangeEntry => {
    entryMs += 1;
    const text = op === ChangeOp.DELETE ? '' : (doc ?? JSON.stringify({ id, version }));

    return { entryId: `${entryMs}-0`, op, id, version, doc: text, ingestedAt: entryMs };
  };
  const put = (id: string, version: number, doc?: string) => entry(ChangeOp.PUT, id, version, doc);
  const del = (id: string, version: number) => entry(ChangeOp.DELETE, id, version);
  const write = (puts: ChangeEntry[], deletes: ChangeEntry[] = [], collection = documents) =>
    fixture.inTransaction((session) => sut.writeDocuments(session, collection, { puts, deletes }, { withIds: true }));
  const row = async (id: string, collection = documents) =>
    (
      await fixture.dataSource.query<{ version: string; doc: string; created: string; updated: string }[]>(
        `SELECT version, CAST(doc AS CHAR) AS doc, CAST(created_at AS CHAR) AS created, CAST(updated_at AS CHAR) AS updated
           FROM ${mariadbStateTable(collection)} WHERE id = ?`,
        [id],
      )
    )[0];
  const tombstone = async (id: string, collection = documents) =>
    (
      await fixture.dataSource.query<{ version: string; stream_ms: string }[]>(
        'SELECT version, stream_ms FROM spillway_tombstones WHERE collection = ? AND id = ?',
        [collection.name, id],
      )
    )[0];

  beforeAll(async () => {
    fixture = await MariadbStateTablesFixture.create(mariadbUrl, 'writes');
  });

  beforeEach(async () => {
    documents = await fixture.collection('document');
  });

  afterAll(async () => {
    await fixture?.destroy();
  });

  describe('writeDocuments', () => {
    it('inserts new documents, counting them and returning their ids as created', async () => {
      const result = await write([put('a', 1), put('b', 3)]);

      expect(result).toEqual({
        inserted: 2,
        updated: 0,
        deleted: 0,
        rows: new Map([
          ['a', true],
          ['b', true],
        ]),
      });
      expect(await row('b')).toMatchObject({ version: '3', doc: '{"id":"b","version":3}' });
    });

    it('ignores an older or equal version, counting it as neither inserted nor updated', async () => {
      await write([put('a', 5, '{"v":"five"}'), put('b', 5, '{"v":"five"}')]);

      const result = await write([put('a', 4, '{"v":"four"}'), put('b', 5, '{"v":"other five"}')]);

      expect(result).toEqual({ inserted: 0, updated: 0, deleted: 0, rows: new Map() });
      expect(await row('a')).toMatchObject({ version: '5', doc: '{"v":"five"}' });
      expect(await row('b')).toMatchObject({ version: '5', doc: '{"v":"five"}' });
    });

    it('updates to a newer version, keeping created_at and moving updated_at', async () => {
      await write([put('a', 1)]);
      const before = await row('a');

      const result = await write([put('a', 2, '{"v":2}'), put('new', 1)]);

      expect(result).toEqual({
        inserted: 1,
        updated: 1,
        deleted: 0,
        rows: new Map([
          ['a', false],
          ['new', true],
        ]),
      });
      const after = await row('a');
      expect(after).toMatchObject({ version: '2', doc: '{"v":2}', created: before?.created });
      expect(after?.updated).not.toBe(before?.updated);
    });

    it('counts a mixed batch exactly: inserted, updated, stale, deleted', async () => {
      await write([put('old', 5), put('same', 5), put('upd', 5), put('gone', 5), put('kept', 9)]);

      const result = await write(
        [put('old', 4), put('same', 5), put('upd', 6), put('fresh', 1)],
        [del('gone', 6), del('kept', 8), del('never', 2)],
      );

      expect(result).toEqual({
        inserted: 1,
        updated: 1,
        deleted: 1,
        rows: new Map([
          ['upd', false],
          ['fresh', true],
        ]),
      });
      expect(await row('gone')).toBeUndefined();
      expect(await row('kept')).toMatchObject({ version: '9' });
    });

    it('never resurrects a deleted document with a put at or below the delete', async () => {
      await write([put('a', 3)]);
      await write([], [del('a', 5)]);

      const blocked = await write([put('a', 4)]);
      const equal = await write([put('a', 5)]);

      expect([blocked, equal]).toEqual([
        { inserted: 0, updated: 0, deleted: 0, rows: new Map() },
        { inserted: 0, updated: 0, deleted: 0, rows: new Map() },
      ]);
      expect(await row('a')).toBeUndefined();

      const newer = await write([put('a', 6)]);

      expect(newer).toMatchObject({ inserted: 1, rows: new Map([['a', true]]) });
      expect(await row('a')).toMatchObject({ version: '6' });
    });

    it('keeps the newest tombstone, and deletes only rows older than the delete', async () => {
      await write([put('a', 7)]);

      const older = await write([], [del('a', 6)]);

      expect(older).toMatchObject({ deleted: 0 });
      expect(await row('a')).toMatchObject({ version: '7' });
      expect(await tombstone('a')).toMatchObject({ version: '6' });

      const newer = del('a', 8);
      expect(await write([], [newer])).toMatchObject({ deleted: 1 });
      expect(await tombstone('a')).toEqual({ version: '8', stream_ms: String(newer.ingestedAt) });

      expect(await write([], [del('a', 7)])).toMatchObject({ deleted: 0 });
      expect(await tombstone('a')).toEqual({ version: '8', stream_ms: String(newer.ingestedAt) });
    });

    it('keeps tombstones per collection', async () => {
      const other = await fixture.collection('document');
      await write([], [del('a', 5)]);

      expect(await write([put('a', 1)], [], other)).toMatchObject({ inserted: 1 });
      expect(await tombstone('a', other)).toBeUndefined();
    });

    it('returns no rows map without withIds', async () => {
      const result = await fixture.inTransaction((session) =>
        sut.writeDocuments(session, documents, { puts: [put('a', 1)], deletes: [] }, { withIds: false }),
      );

      expect(result).toEqual({ inserted: 1, updated: 0, deleted: 0 });
    });

    it('writes a batch of 70,000 puts and 5,000 deletes in chunks under the placeholder limit', async () => {
      const ids = Array.from({ length: 75_000 }, (_, i) => `doc-${i}`);
      await write(ids.slice(70_000).map((id) => put(id, 1)));
      const session = await fixture.inTransaction(async (recording) => {
        const result = await sut.writeDocuments(
          recording,
          documents,
          { puts: ids.slice(0, 70_000).map((id) => put(id, 2)), deletes: ids.slice(70_000).map((id) => del(id, 2)) },
          { withIds: true },
        );

        expect(result).toMatchObject({ inserted: 70_000, updated: 0, deleted: 5_000 });
        expect(result.rows?.size).toBe(70_000);

        return recording;
      }, RecordingSession);
      const [{ count }] = await fixture.dataSource.query<[{ count: string }]>(
        `SELECT COUNT(*) AS count FROM ${mariadbStateTable(documents)}`,
      );

      expect(Number(count)).toBe(70_000);
      const upserts = session.sent.filter((s) => s.text.startsWith(`INSERT INTO ${mariadbStateTable(documents)}`));
      expect(upserts.length).toBeGreaterThan(1);
      expect(upserts.reduce((sum, s) => sum + s.rows, 0)).toBe(70_000);
      expect(Math.max(...session.sent.map((s) => s.values))).toBeLessThanOrEqual(MAX_PLACEHOLDERS);
    });

    it('splits a batch of large documents under the statement size, losing none', async () => {
      const big = 'x'.repeat(3 * 1024 * 1024);
      const puts = Array.from({ length: 12 }, (_, i) => put(`big-${i}`, 1, JSON.stringify({ big })));

      const session = await fixture.inTransaction(async (recording) => {
        expect(await sut.writeDocuments(recording, documents, { puts, deletes: [] }, { withIds: false })).toEqual({
          inserted: 12,
          updated: 0,
          deleted: 0,
        });

        return recording;
      }, RecordingSession);

      expect(session.sent.length).toBeGreaterThan(2);
      expect(Math.max(...session.sent.map((s) => s.bytes))).toBeLessThan(16 * 1024 * 1024);
      expect((await row('big-11'))?.doc).toHaveLength(puts[11]?.doc.length ?? 0);
    });
  });

  describe('insertEvents', () => {
    it('inserts each event once and returns the ids it inserted', async () => {
      const events = await fixture.collection('event');
      const event = (id: string, doc: string) => entry(ChangeOp.EVENT, id, 1, doc);
      const insert = (batch: ChangeEntry[]) =>
        fixture.inTransaction((session) => sut.insertEvents(session, events, batch));

      expect(await insert([event('e1', '{"n":1}'), event('e2', '{"n":2}')])).toEqual(['e1', 'e2']);
      expect(await insert([event('e2', '{"n":"again"}'), event('e3', '{"n":3}')])).toEqual(['e3']);
      expect(await insert([])).toEqual([]);

      const rows = await fixture.dataSource.query<{ id: string; doc: string }[]>(
        `SELECT id, CAST(doc AS CHAR) AS doc FROM ${mariadbStateTable(events)} ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: 'e1', doc: '{"n":1}' },
        { id: 'e2', doc: '{"n":2}' },
        { id: 'e3', doc: '{"n":3}' },
      ]);
    });
  });

  describe('values', () => {
    it('stores texts with quotes, backslashes, NUL and any Unicode exactly, in documents and events', async () => {
      const texts = [`{"q":"it's","b":"a\\\\b","n":"\\u0000"}`, '{"u":"é✓😀","t":"\\t"}', '{"p":"?? ? \\"x\\""}'];
      const events = await fixture.collection('event');
      const ids = ["o'brien", 'back\\slash', 'ünï 😀'];
      await write(ids.map((id, i) => put(id, 1, texts[i])));
      await fixture.inTransaction((session) =>
        sut.insertEvents(
          session,
          events,
          ids.map((id, i) => entry(ChangeOp.EVENT, id, 1, texts[i])),
        ),
      );

      for (const [i, id] of ids.entries()) {
        expect((await row(id))?.doc).toBe(texts[i]);
        const [event] = await fixture.dataSource.query<{ doc: string }[]>(
          `SELECT CAST(doc AS CHAR) AS doc FROM ${mariadbStateTable(events)} WHERE id = ?`,
          [id],
        );
        expect(event?.doc).toBe(texts[i]);
      }
    });
  });

  describe('insertEvents, concurrently', () => {
    /** Starts a transaction that inserts `ids`, and holds it open until `end` is called with commit or rollback. */
    const held = (events: Collection, ids: string[]) => {
      let end: (commit: boolean) => void = () => undefined;
      const ending = new Promise<boolean>((resolve) => (end = resolve));
      let inserted: (ids: string[]) => void = () => undefined;
      const insertedIds = new Promise<string[]>((resolve) => (inserted = resolve));
      const done = fixture
        .inTransaction(async (session) => {
          inserted(
            await sut.insertEvents(
              session,
              events,
              ids.map((id) => entry(ChangeOp.EVENT, id, 1, '{}')),
            ),
          );
          if (!(await ending)) {
            throw new Error('rolled back');
          }
        })
        .catch(() => undefined);

      return { insertedIds, end, done };
    };
    const insert = (events: Collection, ids: string[]) =>
      fixture.inTransaction((session) =>
        sut.insertEvents(
          session,
          events,
          ids.map((id) => entry(ChangeOp.EVENT, id, 1, '{}')),
        ),
      );

    it('reports an event inserted by one of two writers only: the later waits, then leaves it out', async () => {
      const events = await fixture.collection('event');
      const first = held(events, ['a', 'b']);
      expect(await first.insertedIds).toEqual(['a', 'b']);
      const second = insert(events, ['c', 'b', 'd']);
      await new Promise((resolve) => setTimeout(resolve, 200));
      first.end(true);
      await first.done;

      expect(await second).toEqual(['c', 'd']);
      const rows = await fixture.dataSource.query<{ id: string }[]>(
        `SELECT id FROM ${mariadbStateTable(events)} ORDER BY id`,
      );
      expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('inserts the event itself when the other writer rolls back', async () => {
      const events = await fixture.collection('event');
      const first = held(events, ['a', 'b']);
      await first.insertedIds;
      const second = insert(events, ['b', 'c']);
      await new Promise((resolve) => setTimeout(resolve, 200));
      first.end(false);
      await first.done;

      expect(await second).toEqual(['b', 'c']);
    });

    it('leaves a refused event to the batch split: invalid JSON is a content error, not a duplicate', async () => {
      const events = await fixture.collection('event');
      const failure = await insert(events, ['x']).then(async () =>
        insert(events, ['x', 'y']).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      expect(failure).toBeUndefined();

      const refused = await fixture
        .inTransaction((session) => sut.insertEvents(session, events, [entry(ChangeOp.EVENT, 'z', 1, '{not json')]))
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(mariadbErrorClasses.classify(refused)).toBe('content');
    });
  });

  describe('pruneTombstones', () => {
    it("forgets a collection's tombstones of entries before the given time, and no others", async () => {
      const other = await fixture.collection('document');
      const early = del('a', 1);
      const late = del('b', 1);
      await write([], [early, late]);
      await write([], [del('a', 1)], other);

      await sut.pruneTombstones(fixture.dataSource, documents.name, late.ingestedAt);

      expect(await tombstone('a')).toBeUndefined();
      expect(await tombstone('b')).toMatchObject({ version: '1' });
      expect(await tombstone('a', other)).toMatchObject({ version: '1' });
    });
  });
});
