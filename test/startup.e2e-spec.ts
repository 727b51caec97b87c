import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { AppProcess } from '../tools/local-stack';
import { expectEventually } from './utils/expect-eventually';
import { testServers } from './utils/servers';

const root = join(__dirname, '..');

/** The built apps refuse bad configuration at start with one clear line. Real: the built apps. */
describe('startup configuration', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-startup-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const start = (app: 'ingest' | 'sink', env: Record<string, string>) =>
    spawnSync(process.execPath, [join(root, 'dist', 'apps', app, 'main.js')], {
      env: { ...process.env, PORT: '0', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it.each(['ingest', 'sink'] as const)('%s stops on a bad collection file, naming file, field and problem', (app) => {
    writeFileSync(join(dir, 'bad.yaml'), 'name: orders\nkind: ledger\n');

    const result = start(app, { COLLECTIONS_DIR: dir });

    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines.at(-1)).toContain(
      `collection file ${join(dir, 'bad.yaml')}: field \\"kind\\": must be equal to one of the allowed values`,
    );
  });

  it.each(['ingest', 'sink'] as const)('%s stops on a bad setting with one line', (app) => {
    const result = start(app, { SINK_BATCH_SIZE: '0', INGEST_MAX_BACKLOG: 'many' });

    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/Invalid environment: .*(SINK_BATCH_SIZE|INGEST_MAX_BACKLOG)/);
  });
});

/**
 * The built sink refuses a collection file it cannot honour at start: a schema change that would lose data, an
 * expression that does not parse, another expression language. Real: the built apps, Redis, PostgreSQL.
 */
describe('startup with typed outputs', () => {
  const name = `st_${Math.random().toString(36).slice(2, 8)}`;
  const facts = `${name}_facts`;
  let dir: string;
  let file: string;
  let pg: Pool;

  /** A collection file whose one output has `columns` and maps every column but `id`. */
  const collectionFile = (columns: Record<string, string>) =>
    `name: ${name}\nkind: document\noutput:\n  - uses: relational.write\n    with:\n      table: ${facts}\n` +
    `      keys: [id]\n      mapping: [${Object.keys(columns)
      .filter((c) => c !== 'id')
      .join(', ')}]\n      columns: ${JSON.stringify(columns)}\n`;

  const start = (app: 'ingest' | 'sink') =>
    spawnSync(process.execPath, [join(root, 'dist', 'apps', app, 'main.js')], {
      env: { ...process.env, PORT: '0', COLLECTIONS_DIR: dir, SINK_CONSUMER: `${name}-refused` },
      encoding: 'utf8',
      timeout: 20_000,
    });

  /** The message of the one JSON line a failed start writes to stderr. */
  const lastLineMessage = (stderr: string) => {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);

    return (JSON.parse(lines[0] ?? 'null') as { message: string }).message;
  };

  /** The refused statement as quoted in the message: TypeORM leaves the default schema out of the table's name. */
  const refusing = (action: string) => new RegExp(`refusing "ALTER TABLE (?:"public"\\.)?"${facts}" ${action}"`);

  const tableState = async () => ({
    columns: (
      await pg.query<{ column_name: string; data_type: string }>(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
        [facts],
      )
    ).rows,
    rows: (await pg.query(`SELECT * FROM "${facts}" ORDER BY id`)).rows,
  });

  beforeAll(async () => {
    const servers = testServers();
    dir = mkdtempSync(join(tmpdir(), 'spillway-startup-outputs-'));
    file = join(dir, `${name}.yaml`);
    pg = new Pool({ connectionString: servers.databaseUrl, max: 1 });
    // A sink makes the output table from the file, then the table holds a row.
    writeFileSync(file, collectionFile({ id: 'text', status: 'text', amount: 'integer' }));
    const sink = new AppProcess(`${name}-maker`, 'sink', {
      REDIS_URL: servers.redisUrl,
      DATABASE_URL: servers.databaseUrl,
      COLLECTIONS_DIR: dir,
      SINK_CONSUMER: `${name}-maker`,
    });
    try {
      await sink.start();
      // Ready says PostgreSQL answers; the tables are made in the background after that.
      await expectEventually(async () => {
        const { rows } = await pg.query<{ made: string | null }>('SELECT to_regclass($1) AS made', [`"${facts}"`]);
        expect(rows[0]?.made).not.toBeNull();
      }, 30_000);
    } finally {
      await sink.terminate();
    }
    await pg.query(`INSERT INTO "${facts}" (id, status, amount, spillway_version) VALUES ('s-1', 'active', 1250, 3)`);
  });

  afterAll(async () => {
    await pg.query(`DROP TABLE IF EXISTS "${facts}", "${name}"`);
    await pg.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const madeByTheFirstStart = {
    columns: [
      { column_name: 'id', data_type: 'text' },
      { column_name: 'status', data_type: 'text' },
      { column_name: 'amount', data_type: 'integer' },
      { column_name: 'spillway_version', data_type: 'bigint' },
    ],
    rows: [{ id: 's-1', status: 'active', amount: 1250, spillway_version: '3' }],
  };

  it('sink refuses a retyped column: exit 1, one line naming file, table, column and statement; the table stays', async () => {
    expect(await tableState()).toEqual(madeByTheFirstStart);
    writeFileSync(file, collectionFile({ id: 'text', status: 'text', amount: 'text' }));

    const result = start('sink');

    expect(result.status).toBe(1);
    const message = lastLineMessage(result.stderr);
    expect(message).toContain(`collection file ${file}: table public.${facts}: column amount: refusing "ALTER TABLE`);
    expect(message).toMatch(refusing(`DROP COLUMN "amount"`));
    expect(message).toContain('the file makes it text where the table has integer');
    expect(await tableState()).toEqual(madeByTheFirstStart);
  });

  it('sink refuses a column removed from the file: exit 1, one line naming file, table, column and statement', async () => {
    writeFileSync(file, collectionFile({ id: 'text', status: 'text' }));

    const result = start('sink');

    expect(result.status).toBe(1);
    const message = lastLineMessage(result.stderr);
    expect(message).toContain(`collection file ${file}: table public.${facts}: column amount: refusing "ALTER TABLE`);
    expect(message).toMatch(refusing(`DROP COLUMN "amount"`));
    expect(message).toContain('the table has this column and the file does not list it');
    expect(await tableState()).toEqual(madeByTheFirstStart);
  });

  it.each([
    [
      'an expression that does not parse',
      'transform:\n  - uses: filter\n    with: { expression: "status != \'draft\'" }\n' +
        '  - uses: add_field\n    with: { field: cents, expression: "amount * " }\n',
      'field "transform[1].with.expression": not a valid JMESPath expression',
    ],
    [
      'language: sql',
      'transform:\n  - uses: filter\n    with: { language: sql, expression: "status <> \'draft\'" }\n',
      'field "transform[0]": language sql is not supported; use jmespath',
    ],
  ])('%s stops ingest and sink at start with one line naming the file and the block', (_, transform, problem) => {
    writeFileSync(file, `name: ${name}\nkind: document\n${transform}`);

    for (const app of ['ingest', 'sink'] as const) {
      const result = start(app);

      expect(result.status, app).toBe(1);
      expect(lastLineMessage(result.stderr), app).toContain(`collection file ${file}: ${problem}`);
    }
  });
});
