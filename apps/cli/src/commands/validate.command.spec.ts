import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from './validate.command';

const root = join(__dirname, '..', '..', '..', '..');

/** `spillway validate` end to end: the command line under tsx, as `npm run cli -- validate` runs it. Real: all. */
describe(validate.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-validate-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);

  const cli = (args: string[], env: Record<string, string> = {}) => {
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'apps/cli/src/main.ts', ...args], {
      cwd: root,
      env: { ...process.env, COLLECTIONS_DIR: '', ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

    return { status: result.status, stdout: result.stdout.split('\n').filter(Boolean), stderr: result.stderr.trim() };
  };

  const good = [
    'name: sessions',
    'kind: document',
    'transform:',
    '  - uses: rename_field',
    '    with: { from_field: device.type, to_field: device_type }',
    'output:',
    '  - uses: relational.write',
    '    with:',
    '      table: session_facts',
    '      keys: [id]',
    '      mapping: [device_type]',
    '      columns: { id: text, device_type: text }',
    '',
  ].join('\n');

  it('prints one line of summary and exits 0 when every file is good', () => {
    write('sessions.yaml', good);
    write('clicks.yaml', 'name: clicks\nkind: event\n');

    const sut = cli(['validate', '--dir', dir]);

    expect(sut).toEqual({
      status: 0,
      stdout: [`OK: ${dir}: 2 collections (clicks, sessions), 1 output table`],
      stderr: '',
    });
  });

  it('prints every problem of every file as "file: path: reason" and exits 1', () => {
    write(
      'a.yaml',
      [
        'name: a',
        'kind: document',
        'transform:',
        '  - uses: filter',
        '    with: { language: sql, expression: "age > 20" }',
        'output:',
        '  - uses: relational.write',
        '    with: { table: t, keys: [user_id], columns: { user_id: text, extra: int } }',
        '',
      ].join('\n'),
    );
    write('b.yaml', 'name: b\nkind: ledger\n');

    const sut = cli(['validate', '--dir', dir]);

    expect(sut).toEqual({
      status: 1,
      stdout: [
        `${join(dir, 'a.yaml')}: transform[0]: language sql is not supported; use jmespath`,
        `${join(dir, 'a.yaml')}: output[0].with.columns.extra: unknown type "int"; one of text, integer, bigint, numeric, double, boolean, timestamptz, date, uuid, jsonb`,
        `${join(dir, 'a.yaml')}: output[0].with.keys: must include the collection's key field "id" (as id or {some_column: id}): Spillway finds a document's rows by its id, to replace them on a newer version and remove them on a delete`,
        `${join(dir, 'b.yaml')}: kind: must be equal to one of the allowed values`,
      ],
      stderr: `4 problems in ${dir}`,
    });
  });

  it('loads the entity modules of SINK_ENTITIES, for outputs that name an entity, and reports their problems', () => {
    const typeorm = JSON.stringify(require.resolve('typeorm'));
    write(
      'facts.js',
      `const { EntitySchema } = require(${typeorm});\n` +
        "exports.Fact = new EntitySchema({ name: 'Fact', tableName: 'facts', columns: { id: { type: 'varchar', primary: true }, at: { type: 'timestamp' } } });\n",
    );
    write('nothing.js', 'exports.x = 1;\n');
    write('a.yaml', 'name: a\nkind: document\noutput:\n  - uses: relational.write\n    with: { entity: Fact }\n');
    write('b.yaml', 'name: b\nkind: document\noutput:\n  - uses: relational.write\n    with: { entity: Other }\n');
    const modules = `${join(dir, 'facts.js')},${join(dir, 'nothing.js')}`;

    const sut = cli(['validate', '--dir', dir], { SINK_ENTITIES: modules });

    expect(sut).toEqual({
      status: 1,
      stdout: [
        `${join(dir, 'nothing.js')}: (module): exports no TypeORM entity (a class decorated with @Entity(), or an EntitySchema)`,
        expect.stringMatching(
          /a\.yaml: output\[0\]\.with\.entity: entity Fact: property at type "timestamp" is not supported/,
        ),
        `${join(dir, 'b.yaml')}: output[0].with.entity: entity "Other" is not exported by any module of SINK_ENTITIES (${modules.replace(',', ', ')}; entities found: Fact)`,
      ],
      stderr: `3 problems in ${dir}`,
    });
  });

  it('reads COLLECTIONS_DIR when --dir is not given, and says when the folder cannot be read', () => {
    const missing = join(dir, 'missing');

    const sut = cli(['validate'], { COLLECTIONS_DIR: missing });

    expect(sut).toEqual({
      status: 1,
      stdout: [`${missing}: (folder): cannot be read (ENOENT)`],
      stderr: `1 problem in ${missing}`,
    });
  });

  it('checks the shipped collection files by default', () => {
    const sut = cli(['validate']);

    expect(sut.status).toBe(0);
    expect(sut.stdout).toEqual([expect.stringMatching(/^OK: config\/collections: 2 collections \(clicks, sessions\)/)]);
  });
});
