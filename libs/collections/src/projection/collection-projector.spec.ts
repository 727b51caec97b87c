import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollections } from '../collections.loader';
import type { Projector } from '../outputs';
import { CollectionProjector } from './collection-projector';

describe(CollectionProjector.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'projector-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** The projector of a collection file (JSON is YAML). */
  function projectorOf(file: Record<string, unknown>): Projector {
    writeFileSync(join(dir, 'c.yaml'), JSON.stringify({ name: 'sessions', kind: 'document', ...file }));
    const [collection] = loadCollections(dir);
    if (!collection?.projector) throw new Error('no projector');

    return collection.projector;
  }

  const sessionFile = {
    transform: [
      { uses: 'rename_field', with: { from_field: 'device.type', to_field: 'device_type' } },
      {
        uses: 'add_field',
        with: { field: 'amount_cents', language: 'jmespath', expression: 'amount && amount * `100`' },
      },
      { uses: 'remove_field', with: { field: 'secret' } },
      { uses: 'filter', with: { language: 'jmespath', expression: "status != 'draft'" } },
    ],
    output: [
      {
        uses: 'relational.write',
        with: {
          table: 'session_facts',
          keys: ['id'],
          mapping: [
            { user_id: 'userId' },
            'device_type',
            { model: 'device.model' },
            'amount_cents',
            { started_at: 'startedAt' },
          ],
          columns: {
            id: 'text',
            user_id: 'text',
            device_type: 'text',
            model: 'text',
            amount_cents: 'bigint',
            started_at: 'timestamptz',
          },
        },
      },
      {
        uses: 'relational.write',
        with: {
          table: 'session_screens',
          foreach: 'screen: screens[]',
          keys: [{ session_id: 'id' }, { position: 'screen.position' }],
          mapping: [{ name: 'screen.name' }, { seconds: 'screen.seconds' }, { user_id: 'userId' }],
          columns: { session_id: 'text', position: 'integer', name: 'text', seconds: 'double', user_id: 'text' },
        },
      },
    ],
  };

  const session = {
    id: 's1',
    userId: 'u1',
    device: { type: 'ios', model: 'iPhone 15' },
    amount: 12.5,
    secret: 'x',
    status: 'active',
    startedAt: '2024-05-01T10:00:00Z',
    screens: [
      { position: 1, name: 'home', seconds: 2.5 },
      { position: 2, name: 'transfer' },
    ],
  };

  it('projects a document through the transform blocks into the rows of every output, in column order', () => {
    const sut = projectorOf(sessionFile);

    expect(sut.project(session)).toEqual({
      kind: 'rows',
      rows: [
        [['s1', 'u1', 'ios', 'iPhone 15', '1250', '2024-05-01T10:00:00Z']],
        [
          ['s1', 1, 'home', 2.5, 'u1'],
          ['s1', 2, 'transfer', null, 'u1'],
        ],
      ],
    });
  });

  it('gives NULL for a missing field, nested or not', () => {
    const sut = projectorOf(sessionFile);

    expect(sut.project({ id: 's1', status: 'idle' })).toEqual({
      kind: 'rows',
      rows: [[['s1', null, null, null, null, null]], []],
    });
  });

  describe('foreach', () => {
    it.each([
      ['grows with the array', [{ position: 1 }, { position: 2 }, { position: 3 }], [1, 2, 3]],
      ['shrinks with it', [{ position: 3 }], [3]],
      ['gives no row for an empty array', [], []],
      ['gives no row for a missing array', undefined, []],
      ['gives no row for something other than an array', 'not a list', []],
    ])('%s', (_, screens, positions) => {
      const sut = projectorOf(sessionFile);

      const projection = sut.project({ id: 's1', screens });

      expect(projection.kind).toBe('rows');
      const rows = projection.kind === 'rows' ? projection.rows[1] : [];
      expect(rows?.map((row) => row[1])).toEqual(positions);
    });

    it('refuses two elements with the same key', () => {
      const sut = projectorOf(sessionFile);

      expect(sut.project({ id: 's1', screens: [{ position: 1 }, { position: 1 }] })).toEqual({
        kind: 'invalid',
        reason:
          'collection sessions: table session_screens: two elements of foreach give the same key (session_id, position)',
      });
    });

    it('refuses an element without its key', () => {
      const sut = projectorOf(sessionFile);

      expect(sut.project({ id: 's1', screens: [{ name: 'home' }] })).toEqual({
        kind: 'invalid',
        reason:
          'collection sessions: table session_screens: key column position (integer) has no value: ' +
          'field screen.position is missing or null',
      });
    });

    it('reads elements that are not objects through the alias itself', () => {
      const sut = projectorOf({
        output: [
          {
            uses: 'relational.write',
            with: {
              table: 'tags',
              foreach: 'tag: tags',
              keys: [{ doc_id: 'id' }, 'tag'],
              columns: { doc_id: 'text', tag: 'text' },
            },
          },
        ],
      });

      expect(sut.project({ id: 'a', tags: ['x', 'y'] })).toEqual({
        kind: 'rows',
        rows: [
          [
            ['a', 'x'],
            ['a', 'y'],
          ],
        ],
      });
    });
  });

  it('projects a composite key', () => {
    const sut = projectorOf({
      output: [
        {
          uses: 'relational.write',
          with: {
            table: 'facts',
            keys: [{ doc_id: 'id' }, { region: 'location.region' }, { day: 'at' }],
            mapping: ['n'],
            columns: { doc_id: 'text', region: 'text', day: 'date', n: 'integer' },
          },
        },
      ],
    });

    expect(sut.project({ id: 'a', location: { region: 'eu' }, at: '2024-05-01T23:00:00-02:00', n: '7' })).toEqual({
      kind: 'rows',
      rows: [[['a', 'eu', '2024-05-01', 7]]],
    });
  });

  it('says filtered for a document the filter drops', () => {
    const sut = projectorOf(sessionFile);

    expect(sut.project({ ...session, status: 'draft' })).toEqual({ kind: 'filtered' });
  });

  it('names the collection, table, column, type and JSON type of a value it cannot convert, never the value', () => {
    const sut = projectorOf(sessionFile);

    const projection = sut.project({ ...session, startedAt: 'SECRET-yesterday' });

    expect(projection).toEqual({
      kind: 'invalid',
      reason:
        'collection sessions: table session_facts: column started_at (timestamptz): cannot convert a string ' +
        '(not an RFC 3339 date-time with an offset)',
    });
  });

  it('refuses an object into a text column', () => {
    const sut = projectorOf(sessionFile);

    expect(sut.project({ ...session, userId: { nested: true } })).toEqual({
      kind: 'invalid',
      reason:
        'collection sessions: table session_facts: column user_id (text): cannot convert an object (use jsonb for objects and arrays)',
    });
  });

  it('names the block whose expression fails on the document', () => {
    const sut = projectorOf(sessionFile);

    expect(sut.project({ ...session, amount: 'twelve' })).toEqual({
      kind: 'invalid',
      reason:
        'collection sessions: transform[1] (add_field): expression "amount && amount * `100`" failed: not-a-number',
    });
  });

  it('refuses a document whose map block drops its id', () => {
    const sut = projectorOf({
      transform: [{ uses: 'map', with: { expression: '{user: userId}' } }],
      output: [{ uses: 'relational.write', with: { table: 't', keys: ['id'], columns: { id: 'text' } } }],
    });

    expect(sut.project({ id: 'a', userId: 'u' })).toEqual({
      kind: 'invalid',
      reason: 'collection sessions: the transform blocks changed or removed the key field id',
    });
  });

  it('refuses what is not a JSON object with an id', () => {
    const sut = projectorOf(sessionFile);

    expect(sut.project([1])).toEqual({
      kind: 'invalid',
      reason: 'collection sessions: the document is not a JSON object',
    });
    expect(sut.project({ id: 1 })).toEqual({
      kind: 'invalid',
      reason: 'collection sessions: the document has no id in field id',
    });
  });

  it('never changes the document it is given', () => {
    const sut = projectorOf(sessionFile);
    const doc = structuredClone(session);

    sut.project(doc);

    expect(doc).toEqual(session);
  });
});
