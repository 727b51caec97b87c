import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCollectionFiles, loadCollections, validateCollectionFiles } from './collections.loader';

describe(loadCollections.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'collections-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);

  it('loads the shipped examples with their defaults', () => {
    const sut = loadCollections(join(__dirname, '..', '..', '..', 'config', 'collections'));

    expect(sut.map((c) => [c.name, c.kind, c.tableSchema, c.table, c.key])).toEqual([
      ['clicks', 'event', 'public', 'clicks', 'id'],
      ['sessions', 'document', 'public', 'sessions', 'id'],
    ]);
    expect(sut[1]?.validateDoc?.({ id: 'x' })).toBe(false);
  });

  it.each([
    ['name: Bad-Name\nkind: document\n', 'field "name": must match pattern'],
    ['name: a\nkind: table\n', 'field "kind": must be equal to one of the allowed values'],
    ['kind: document\n', 'field "name": must have required property \'name\''],
    ['name: a\nkind: document\ncolour: red\n', 'field "colour": is not a known field'],
    ['name: a\nkind: document\ntable: "drop table"\n', 'field "table": must match pattern'],
    ['name: a\nkind: document\nschema: { type: 12 }\n', 'field "schema": not a valid JSON Schema'],
    ['name: a\nkind: [unclosed\n', 'field "(file)": not valid YAML'],
  ])('stops with one line naming the file, the field and the problem: %j', (text, problem) => {
    write('bad.yaml', text);

    expect(() => loadCollections(dir)).toThrow(`collection file ${join(dir, 'bad.yaml')}: ${problem}`);
  });

  it('refuses two files declaring the same collection', () => {
    write('a.yaml', 'name: same\nkind: event\n');
    write('b.yaml', 'name: same\nkind: document\ntable: other\n');

    expect(() => loadCollections(dir)).toThrow(/b\.yaml: field "name": "same" is already declared/);
  });

  it('refuses an empty or missing folder', () => {
    expect(() => loadCollections(dir)).toThrow(/holds no collection files/);
    expect(() => loadCollections(join(dir, 'nope'))).toThrow(/cannot be read \(ENOENT\)/);
  });

  const facts = (table: string) =>
    `  - uses: relational.write\n    with: { table: ${table}, keys: [id], mapping: [n], columns: { id: text, n: integer } }\n`;

  it('loads transform blocks and outputs, with a projector; a file without outputs has neither', () => {
    write(
      'a.yaml',
      'name: a\nkind: document\ntransform:\n  - uses: filter\n    with: { expression: "n > `1`" }\noutput:\n' +
        facts('a_facts'),
    );
    write('b.yaml', 'name: b\nkind: event\n');

    const [a, b] = loadCollections(dir);

    expect(a?.outputs.map((o) => [o.source, o.table, o.ownerColumns])).toEqual([
      [`${join(dir, 'a.yaml')}: output[0]`, 'a_facts', ['id']],
    ]);
    expect(a?.projector?.project({ id: 'x', n: 2 })).toEqual({ kind: 'rows', rows: [[['x', 2]]] });
    expect(a?.projector?.project({ id: 'x', n: 1 })).toEqual({ kind: 'filtered' });
    expect(b?.outputs).toEqual([]);
    expect(b).not.toHaveProperty('projector');
  });

  it('gives each collection its partitions: the file says, else the default given (SPILLWAY_PARTITIONS), else 1', () => {
    write('a.yaml', 'name: a\nkind: document\npartitions: 8\n');
    write('b.yaml', 'name: b\nkind: event\n');

    expect(loadCollections(dir).map((c) => c.partitions)).toEqual([8, 1]);
    expect(loadCollections(dir, { partitions: 4 }).map((c) => c.partitions)).toEqual([8, 4]);
    write('b.yaml', 'name: b\nkind: event\npartitions: 0\n');
    expect(validateCollectionFiles(dir)).toEqual([
      { file: join(dir, 'b.yaml'), path: 'partitions', reason: expect.stringMatching(/>= 1/) as unknown },
    ]);
  });

  it('gives a collection the durability its file names, none otherwise, and refuses an unknown level', () => {
    write('a.yaml', 'name: a\nkind: document\ndurability: persisted\n');
    write('b.yaml', 'name: b\nkind: event\n');

    const [a, b] = loadCollections(dir);

    expect(a?.durability).toBe('persisted');
    expect(b).not.toHaveProperty('durability');
    write('b.yaml', 'name: b\nkind: event\ndurability: disk\n');
    expect(() => loadCollections(dir)).toThrow(
      `collection file ${join(dir, 'b.yaml')}: field "durability": must be equal to one of the allowed values`,
    );
  });

  it('stops on the first problem with one line naming the file, the block and the problem', () => {
    write(
      'a.yaml',
      'name: a\nkind: document\ntransform:\n  - uses: filter\n    with: { expression: "n", language: sql }\noutput:\n' +
        facts('a_facts'),
    );

    expect(() => loadCollections(dir)).toThrow(
      `collection file ${join(dir, 'a.yaml')}: field "transform[0]": language sql is not supported; use jmespath`,
    );
  });

  it('collects every problem of every file, in file order', () => {
    write('a.yaml', 'name: a\nkind: document\ncolour: red\ntable: Bad\n');
    write('b.yaml', 'name: b\nkind: document\noutput:\n' + facts('spillway_b') + facts('b_ok'));
    write('c.yaml', 'name: c\nkind: event\n');

    const sut = validateCollectionFiles(dir);

    expect(sut).toEqual([
      { file: join(dir, 'a.yaml'), path: 'colour', reason: 'is not a known field' },
      {
        file: join(dir, 'a.yaml'),
        path: 'table',
        reason: 'must match pattern "^([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}$"',
      },
      {
        file: join(dir, 'b.yaml'),
        path: 'output[0].with.table',
        reason: 'names starting with spillway_ are reserved for Spillway',
      },
    ]);
    expect(checkCollectionFiles(dir).collections.map((c) => c.name)).toEqual(['c']);
  });

  it('refuses transform blocks without an output', () => {
    write('a.yaml', 'name: a\nkind: document\ntransform:\n  - uses: filter\n    with: { expression: "n" }\n');

    expect(validateCollectionFiles(dir)).toEqual([
      {
        file: join(dir, 'a.yaml'),
        path: 'transform',
        reason: 'transform blocks shape the outputs: add an output, or remove them',
      },
    ]);
  });

  it.each([
    [
      'two outputs of one file',
      'name: a\nkind: document\noutput:\n' + facts('t') + facts('t'),
      'a.yaml',
      'output[1].with.table',
      '"public.t" is already used by collection "a" output[0]',
    ],
    [
      'an output and its own state table',
      'name: a\nkind: document\noutput:\n' + facts('a'),
      'a.yaml',
      'output[0].with.table',
      '"public.a" is already used by collection "a"',
    ],
    [
      'an output and the state table of a later file',
      'name: a\nkind: document\noutput:\n' + facts('z'),
      'z.yaml',
      'table',
      '"public.z" is already used by collection "a" output[0]',
    ],
  ])('refuses one table written twice: %s', (_, text, file, path, reason) => {
    write('a.yaml', text);
    write('z.yaml', 'name: z\nkind: event\n');

    expect(validateCollectionFiles(dir)).toEqual([{ file: join(dir, file), path, reason }]);
  });

  it('refuses an output writing the output table of another file', () => {
    write('a.yaml', 'name: a\nkind: document\noutput:\n' + facts('shared'));
    write('b.yaml', 'name: b\nkind: document\noutput:\n' + facts('shared'));

    expect(validateCollectionFiles(dir)).toEqual([
      {
        file: join(dir, 'b.yaml'),
        path: 'output[0].with.table',
        reason: '"public.shared" is already used by collection "a" output[0]',
      },
    ]);
  });

  describe('connections', () => {
    const factsIn = (table: string, connection: string) =>
      `  - uses: relational.write\n    with: { table: ${table}, keys: [id], mapping: [n], columns: { id: text, n: integer }, connection: ${connection} }\n`;

    it('refuses an output naming a connection that is not set up', () => {
      write('a.yaml', 'name: a\nkind: document\noutput:\n' + factsIn('t', 'analytics'));

      expect(validateCollectionFiles(dir)).toEqual([
        {
          file: join(dir, 'a.yaml'),
          path: 'output[0].with.connection',
          reason: '"analytics" is not a connection: name it in SPILLWAY_CONNECTIONS (connections: default)',
        },
      ]);
    });

    it('takes a table name once per database: the same table in two connections, the state table in each', () => {
      write('a.yaml', 'name: a\nkind: document\noutput:\n' + facts('t') + factsIn('t', 'analytics'));
      write('b.yaml', 'name: b\nkind: document\noutput:\n' + factsIn('a', 'analytics'));

      expect(validateCollectionFiles(dir, { connections: ['default', 'analytics'] })).toEqual([
        {
          file: join(dir, 'b.yaml'),
          path: 'output[0].with.table',
          reason: '"public.a" in connection analytics is already used by collection "a"',
        },
      ]);
      const [a] = checkCollectionFiles(dir, { connections: ['default', 'analytics'] }).collections;
      expect(a?.outputs.map((o) => `${o.connection}:${o.table}`)).toEqual(['default:t', 'analytics:t']);
    });
  });

  it('reports a folder that cannot be read as one problem', () => {
    expect(validateCollectionFiles(join(dir, 'nope'))).toEqual([
      { file: join(dir, 'nope'), path: '(folder)', reason: 'cannot be read (ENOENT)' },
    ]);
  });
});
