import type { OutputColumn, OutputTable } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { documentOutputWrites, eventOutputWrites } from './output-writes';
import { ownerKey } from './owner-keys';

const column = (name: string, isKey = false, type: OutputColumn['type'] = 'text'): OutputColumn => ({
  name,
  type,
  isKey,
});
const output = (table: string, columns: OutputColumn[], more: Partial<OutputTable> = {}): OutputTable => ({
  source: `test.yaml: output[${table}]`,
  schema: 'public',
  table,
  columns,
  versionColumn: 'spillway_version',
  ownerColumns: ['id'],
  isForeach: false,
  excludeOps: [],
  connection: 'default',
  ...more,
});
const change = (op: ChangeOp, id: string, version: number): ChangeEntry => ({
  entryId: `${version}-0`,
  op,
  id,
  version,
  doc: '',
  ingestedAt: 0,
});

const facts = output('facts', [column('id', true), column('status')]);
const screens = output('screens', [column('id', true), column('position', true, 'integer'), column('name')], {
  isForeach: true,
});
const archive = output('archive', [column('id', true), column('status')], { excludeOps: ['delete'] });
const outputs = [facts, screens, archive];

describe(documentOutputWrites.name, () => {
  it('upserts a plain output, replaces a foreach output as a whole, and removes what a delete removes', () => {
    const put = change(ChangeOp.PUT, 'a', 3);
    const deleted = change(ChangeOp.DELETE, 'b', 5);

    const sut = documentOutputWrites(
      outputs,
      [{ entry: put, projection: { kind: 'rows', rows: [[['a', 'on']], [['a', 1, 'x']], [['a', 'on']]] } }],
      [deleted],
    );

    expect(sut.map((w) => [w.output.table, w.removals, w.rows, w.rowVersions])).toEqual([
      ['facts', { ownerKeys: ['b'], versions: [5] }, [['a', 'on']], [3]],
      ['screens', { ownerKeys: ['a', 'b'], versions: [3, 5] }, [['a', 1, 'x']], [3]],
      ['archive', { ownerKeys: [], versions: [] }, [['a', 'on']], [3]],
    ]);
    expect(sut.every((w) => w.mode === 'upsert')).toBe(true);
  });

  it('removes a filtered document from every output, those that keep rows on delete included', () => {
    const sut = documentOutputWrites(
      outputs,
      [{ entry: change(ChangeOp.PUT, 'a', 2), projection: { kind: 'filtered' } }],
      [],
    );

    expect(sut.map((w) => [w.output.table, w.removals.ownerKeys, w.rows])).toEqual([
      ['facts', ['a'], []],
      ['screens', ['a'], []],
      ['archive', ['a'], []],
    ]);
  });

  it('removes nothing of a document whose state row it created, except from outputs that keep rows on delete', () => {
    const created = { entry: change(ChangeOp.PUT, 'a', 1), createdState: true };

    const sut = documentOutputWrites(
      outputs,
      [
        { ...created, projection: { kind: 'rows', rows: [[['a', 'on']], [['a', 1, 'x']], [['a', 'on']]] } },
        { entry: change(ChangeOp.PUT, 'b', 1), createdState: true, projection: { kind: 'filtered' } },
      ],
      [],
    );

    expect(sut.map((w) => [w.output.table, w.removals.ownerKeys])).toEqual([
      ['facts', []],
      ['screens', []],
      ['archive', ['b']],
    ]);
  });

  it('marks new the rows of a document whose state row it created, where the table follows deletes', () => {
    const applied = [
      {
        entry: change(ChangeOp.PUT, 'a', 1),
        createdState: true,
        projection: { kind: 'rows', rows: [[['a', 'on']], [['a', 1, 'x']], [['a', 'on']]] } as const,
      },
      {
        entry: change(ChangeOp.PUT, 'b', 2),
        createdState: false,
        projection: { kind: 'rows', rows: [[['b', 'on']], [['b', 1, 'y']], [['b', 'on']]] } as const,
      },
    ];

    const sut = documentOutputWrites(outputs, applied, []);
    const withoutNewRows = documentOutputWrites(outputs, applied, [], { newRows: false });

    expect(sut.map((w) => [w.output.table, w.rowIsNew])).toEqual([
      ['facts', [true, false]],
      ['screens', [true, false]],
      ['archive', [false, false]],
    ]);
    expect(withoutNewRows.every((w) => w.rowIsNew.every((isNew) => !isNew))).toBe(true);
  });

  it('keeps the last row of a key given twice, and replaces rows whose key holds more than the document id', () => {
    const byTenant = output('by_tenant', [column('tenant', true), column('id', true), column('n')]);

    const sut = documentOutputWrites(
      [screens, byTenant],
      [
        {
          entry: change(ChangeOp.PUT, 'a', 4),
          projection: {
            kind: 'rows',
            rows: [
              [
                ['a', 1, 'first'],
                ['a', 2, 'other'],
                ['a', 1, 'last'],
              ],
              [['t1', 'a', 'x']],
            ],
          },
        },
      ],
      [],
    );

    expect(sut[0]?.rows).toEqual([
      ['a', 1, 'last'],
      ['a', 2, 'other'],
    ]);
    expect(sut[1]?.removals).toEqual({ ownerKeys: ['a'], versions: [4] });
  });

  it('finds rows by an owner column of another type by the id in that type, and skips ids it cannot hold', () => {
    const numbered = output('numbered', [column('id', true, 'integer'), column('n')]);

    const sut = documentOutputWrites(
      [numbered],
      [],
      [change(ChangeOp.DELETE, '42', 2), change(ChangeOp.DELETE, 'abc', 2)],
    );

    expect(sut[0]?.removals).toEqual({ ownerKeys: ['42'], versions: [2] });
  });

  it('has nothing to do for an output no change touches', () => {
    expect(documentOutputWrites([archive], [], [change(ChangeOp.DELETE, 'a', 2)])).toEqual([]);
  });
});

describe(eventOutputWrites.name, () => {
  it('inserts each event once into each output, filtered events nowhere', () => {
    const sut = eventOutputWrites(
      [facts, screens],
      [
        { entry: change(ChangeOp.EVENT, 'e1', 1), projection: { kind: 'rows', rows: [[['e1', 'x']], []] } },
        { entry: change(ChangeOp.EVENT, 'e2', 1), projection: { kind: 'filtered' } },
      ],
    );

    expect(sut.map((w) => [w.output.table, w.mode, w.rows, w.removals.ownerKeys])).toEqual([
      ['facts', 'insert-once', [['e1', 'x']], []],
    ]);
  });
});

describe(ownerKey.name, () => {
  it.each([
    ['text', 'a:b', 'a:b'],
    ['integer', '-42', '-42'],
    ['integer', '2147483648', undefined],
    ['bigint', '9223372036854775807', '9223372036854775807'],
    ['bigint', '9223372036854775808', undefined],
    ['numeric', '1.5', '1.5'],
    ['numeric', 'x1', undefined],
    ['double', '1e308', '1e308'],
    ['double', '1e309', undefined],
    ['double', '1e-400', undefined],
    ['double', '0.0', '0.0'],
    ['uuid', '0190a0b4-7c2e-7a3c-9f1e-2b3c4d5e6f70', '0190a0b4-7c2e-7a3c-9f1e-2b3c4d5e6f70'],
    ['uuid', 'not-a-uuid', undefined],
    ['jsonb', 'a', '"a"'],
  ] as const)('takes id %s %s as %s', (type, id, expected) => {
    expect(ownerKey(type, id)).toBe(expected);
  });

  it('refuses a type no document id can key', () => {
    expect(() => ownerKey('boolean', 'true')).toThrow(/boolean/);
  });
});
