import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppProcess, type DatabaseKind, type DatabaseReader } from '../tools/local-stack';
import { forEachDialect } from './utils/dialects';
import { expectEventually } from './utils/expect-eventually';
import { testServers } from './utils/servers';

const root = join(__dirname, '..');

/** The message of the one JSON line a failed start writes to stderr. */
function lastLineMessage(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);

  return (JSON.parse(lines[0] ?? 'null') as { message: string }).message;
}

/**
 * The built apps refuse bad configuration at start with one clear line, before they reach a database: a bad setting,
 * a bad collection file, an expression that does not parse, another expression language. Real: the built apps.
 */
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
    const file = join(dir, 'sessions.yaml');
    writeFileSync(file, `name: sessions\nkind: document\n${transform}`);

    for (const app of ['ingest', 'sink'] as const) {
      const result = start(app, { COLLECTIONS_DIR: dir });

      expect(result.status, app).toBe(1);
      expect(lastLineMessage(result.stderr), app).toContain(`collection file ${file}: ${problem}`);
    }
  });
});

/**
 * What differs between the databases in the refusals: where the message says the table is (PostgreSQL's schema; on
 * MariaDB the database, here the URL's), and each database's own names of the types; and the column types of the
 * table the first start makes, as information_schema names them (on MariaDB a text key is a varchar(255)).
 */
const DIALECT_WORDS: Readonly<Record<DatabaseKind, { where: string; retyped: string; columnTypes: string[] }>> = {
  postgres: {
    where: 'public',
    retyped: 'the file makes it text where the table has integer',
    columnTypes: ['text', 'text', 'integer', 'bigint'],
  },
  mariadb: {
    where: 'spillway',
    retyped: 'the file makes it longtext where the table has int(11)',
    columnTypes: ['varchar', 'longtext', 'int', 'bigint'],
  },
};

/**
 * The built sink refuses at start a collection file whose outputs would change a table so that it loses data, once on
 * PostgreSQL and once on MariaDB. Real: the built apps, Redis, PostgreSQL or MariaDB.
 */
describe('startup with typed outputs', () => {
  forEachDialect((database) => {
    const words = DIALECT_WORDS[database.kind];
    const name = `st_${Math.random().toString(36).slice(2, 8)}`;
    const facts = `${name}_facts`;
    let dir: string;
    let file: string;
    let db: DatabaseReader;

    /** A collection file whose one output has `columns` and maps every column but `id`. */
    const collectionFile = (columns: Record<string, string>) =>
      `name: ${name}\nkind: document\noutput:\n  - uses: relational.write\n    with:\n      table: ${facts}\n` +
      `      keys: [id]\n      mapping: [${Object.keys(columns)
        .filter((c) => c !== 'id')
        .join(', ')}]\n      columns: ${JSON.stringify(columns)}\n`;

    const start = (app: 'ingest' | 'sink') =>
      spawnSync(process.execPath, [join(root, 'dist', 'apps', app, 'main.js')], {
        env: {
          ...process.env,
          PORT: '0',
          DATABASE_URL: database.url,
          COLLECTIONS_DIR: dir,
          SINK_CONSUMER: `${name}-refused`,
        },
        encoding: 'utf8',
        timeout: 20_000,
      });

    /** The refused statement as quoted in the message: TypeORM leaves the default schema out of the table's name. */
    const refusing = (action: string) =>
      new RegExp(`refusing "ALTER TABLE (?:${db.quote('public')}\\.)?${db.quote(facts)} ${action}"`);

    const tableState = async () => ({
      columns: await db.columns(facts),
      rows: await db.rows(facts),
    });

    beforeAll(async () => {
      const servers = testServers();
      dir = mkdtempSync(join(tmpdir(), 'spillway-startup-outputs-'));
      file = join(dir, `${name}.yaml`);
      db = database.reader();
      // A sink makes the output table from the file, then the table holds a row.
      writeFileSync(file, collectionFile({ id: 'text', status: 'text', amount: 'integer' }));
      const sink = new AppProcess(`${name}-maker`, 'sink', {
        REDIS_URL: servers.redisUrl,
        DATABASE_URL: database.url,
        COLLECTIONS_DIR: dir,
        SINK_CONSUMER: `${name}-maker`,
      });
      try {
        await sink.start();
        // Ready says the database answers; the tables are made in the background after that.
        await expectEventually(async () => expect(await db.columns(facts)).not.toEqual([]), 30_000);
      } finally {
        await sink.terminate();
      }
      await db.query(
        `INSERT INTO ${db.quote(facts)} (id, status, amount, spillway_version) VALUES ('s-1', 'active', 1250, 3)`,
      );
    });

    afterAll(async () => {
      await db.query(`DROP TABLE IF EXISTS ${db.quote(facts)}, ${db.quote(name)}`);
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const madeByTheFirstStart = () => ({
      columns: ['id', 'status', 'amount', 'spillway_version'].map((column, i) => ({
        name: column,
        type: words.columnTypes[i],
      })),
      rows: [{ id: 's-1', status: 'active', amount: 1250, spillway_version: '3' }],
    });

    /** A sink started on the changed file exits 1 with one line refusing to drop `amount`, for `reason`; the table stays. */
    const expectSinkRefusesDroppingAmount = async (reason: string) => {
      const result = start('sink');

      expect(result.status).toBe(1);
      const message = lastLineMessage(result.stderr);
      expect(message).toContain(
        `collection file ${file}: table ${words.where}.${facts}: column amount: refusing "ALTER TABLE`,
      );
      expect(message).toMatch(refusing(`DROP COLUMN ${db.quote('amount')}`));
      expect(message).toContain(reason);
      expect(await tableState()).toEqual(madeByTheFirstStart());
    };

    it('sink refuses a retyped column: exit 1, one line naming file, table, column and statement; the table stays', async () => {
      expect(await tableState()).toEqual(madeByTheFirstStart());
      writeFileSync(file, collectionFile({ id: 'text', status: 'text', amount: 'text' }));

      await expectSinkRefusesDroppingAmount(words.retyped);
    });

    it('sink refuses a column removed from the file: exit 1, one line naming file, table, column and statement', async () => {
      writeFileSync(file, collectionFile({ id: 'text', status: 'text' }));

      await expectSinkRefusesDroppingAmount('the table has this column and the file does not list it');
    });
  });
});
