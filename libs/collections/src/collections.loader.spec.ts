import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollections } from './collections.loader';

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
});
