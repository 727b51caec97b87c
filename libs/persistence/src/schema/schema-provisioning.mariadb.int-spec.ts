import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import {
  type Collection,
  type ColumnType,
  loadCollections,
  loadEntityModules,
  type OutputColumn,
  type OutputTable,
} from '@app/collections';
import { testServers } from '../../../../test/utils/servers';
import { CreateMariadbTombstones1765000000000 } from '../dialect/mariadb/migrations/1765000000000-create-tombstones';
import { withMariadbDdlLock } from '../dialect/mariadb/schema-catalog';
import { applySchema } from './schema-apply';
import { SchemaChangeRefusedError } from './schema-change-refused.error';
import { planSchema } from './schema-plan';

const FILE = 'config/collections/sessions.yaml';
/** The database this spec's URL names: `public` in a collection file, and where spillway_tombstones lives. */
const HOME = `schema_spec_${randomBytes(3).toString('hex')}`;

const column = (name: string, type: ColumnType, isKey = false): OutputColumn => ({ name, type, isKey });

/**
 * A module of SINK_ENTITIES: a user's entity class as TypeScript compiles it (decorators applied to the class), with
 * MySQL type names Spillway takes.
 */
const ENTITY_MODULE = `
const { Column, Entity, PrimaryColumn } = require(${JSON.stringify(join(process.cwd(), 'node_modules', 'typeorm'))});
class ScreenView {}
Entity('screen_views')(ScreenView);
PrimaryColumn({ type: 'varchar' })(ScreenView.prototype, 'id');
PrimaryColumn({ type: 'int' })(ScreenView.prototype, 'position');
Column({ type: 'decimal', nullable: true })(ScreenView.prototype, 'amount');
Column({ type: 'json', nullable: true })(ScreenView.prototype, 'extra');
Column({ type: 'bigint' })(ScreenView.prototype, 'spillway_version');
module.exports = { ScreenView };
`;

/**
 * Schema creation and evolution on MariaDB, as schema-provisioning.int-spec.ts proves them on PostgreSQL: a
 * collection file's schema is a database (`public` the URL's own), what is made, what only adds and runs on a live
 * table, what is refused (nothing then runs), what is left alone, and replicas starting at once. Each test works in a
 * database of its own; the spec's URL names a database of its own too (HOME), which holds spillway_tombstones.
 *
 * Real: MariaDB 10.11, TypeORM's schema builder (mariadb driver, mysql2). Mocked: nothing (collections are plain
 * data, or loaded from YAML and from a decorated entity class).
 */
describe('schema provisioning on MariaDB', () => {
  const url = new URL(testServers().mariadbUrl);
  url.pathname = `/${HOME}`;
  let db: DataSource;
  let schema: string;

  const dataSource = (poolSize = 2) =>
    new DataSource({
      type: 'mariadb',
      url: url.toString(),
      entities: [],
      // The migration of the one table a plan compares (spillway_tombstones); the others are no table of a plan.
      migrations: [CreateMariadbTombstones1765000000000],
      migrationsTableName: 'spillway_migrations',
      poolSize,
    });

  const documents = (outputs: OutputTable[] = [], tableSchema = schema): Collection => ({
    name: 'sessions',
    kind: 'document',
    tableSchema,
    table: 'sessions',
    key: 'id',
    partitions: 1,
    file: FILE,
    outputs,
  });
  const events = (tableSchema = schema): Collection => ({
    ...documents([], tableSchema),
    name: 'clicks',
    kind: 'event',
    table: 'clicks',
  });
  const output = (table: string, columns: OutputColumn[], more: Partial<OutputTable> = {}): OutputTable => ({
    source: `${FILE}: output[0]`,
    schema,
    table,
    columns,
    versionColumn: 'spillway_version',
    ownerColumns: ['id'],
    isForeach: false,
    excludeOps: [],
    connection: 'default',
    ...more,
  });
  const facts = (columns: OutputColumn[]) => output('session_facts', columns);

  /** One sink's start, as SchemaProvisioner runs it: its own data source, the DDL lock, migrations, plan, apply. */
  const provision = async (collections: Collection[]) => {
    const sink = dataSource();
    await sink.initialize();
    const runner = sink.createQueryRunner();
    try {
      await runner.connect();
      await withMariadbDdlLock(runner, async () => {
        await sink.runMigrations({ transaction: 'all' });
        await applySchema(runner, await planSchema(sink, collections));
      });
    } finally {
      await runner.release();
      await sink.destroy();
    }
  };
  const columnsOf = (table: string, database = schema) =>
    db.query<{ name: string; type: string; nullable: string; collation: string | null }[]>(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLLATION_NAME AS collation
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [database, table],
    );
  const typesOf = async (table: string, database = schema) =>
    (await columnsOf(table, database)).map((c) => `${c.name} ${c.type}${c.nullable === 'NO' ? ' NOT NULL' : ''}`);
  const primaryKeyOf = async (table: string, database = schema) =>
    (
      await db.query<{ name: string }[]>(
        `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
        [database, table],
      )
    ).map((r) => r.name);
  const indexesOf = async (table: string, database = schema) =>
    (
      await db.query<{ name: string; columns: string }[]>(
        `SELECT INDEX_NAME AS name, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS columns
           FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME <> 'PRIMARY'
          GROUP BY INDEX_NAME ORDER BY INDEX_NAME`,
        [database, table],
      )
    ).map((i) => `${i.name} (${i.columns})`);
  const nothingToDo = { pendingMigrations: [], allowed: [], refused: [], leftAlone: [] };

  beforeAll(async () => {
    const admin = new DataSource({ type: 'mariadb', url: testServers().mariadbUrl, poolSize: 1 });
    await admin.initialize();
    await admin.query(`CREATE DATABASE \`${HOME}\``);
    await admin.destroy();
    db = dataSource();
    await db.initialize();
    // Spillway's migrations in HOME (spillway_tombstones), as a sink's first start runs them.
    await provision([]);
  });

  beforeEach(() => {
    schema = `t_${randomBytes(4).toString('hex')}`;
  });

  afterEach(async () => {
    await db.query(`DROP DATABASE IF EXISTS \`${schema}\``);
  });

  afterAll(async () => {
    await db?.query(`DROP DATABASE IF EXISTS \`${HOME}\``);
    await db?.destroy();
  });

  it('creates the database, state tables, a typed output of every type and foreach outputs with their owner index', async () => {
    const typed = facts([
      column('id', 'text', true),
      column('user_id', 'text'),
      column('visits', 'integer'),
      column('amount_cents', 'bigint'),
      column('amount', 'numeric'),
      column('ratio', 'double'),
      column('active', 'boolean'),
      column('started_at', 'timestamptz'),
      column('day', 'date'),
      column('ref', 'uuid'),
      column('tags', 'jsonb'),
    ]);
    // The key starts with the owner column, so the primary key finds a document's rows.
    const screens = output(
      'session_screens',
      [column('session_id', 'text', true), column('position', 'integer', true), column('name', 'text')],
      { ownerColumns: ['session_id'], isForeach: true },
    );
    // The owner column second in the key: it needs an index of its own.
    const visits = output(
      'session_visits',
      [column('position', 'integer', true), column('session_id', 'text', true), column('seconds', 'double')],
      { ownerColumns: ['session_id'], isForeach: true },
    );
    const collections = [documents([typed, screens, visits]), events()];

    await provision(collections);

    expect(await typesOf('sessions')).toEqual([
      'id varchar(255) NOT NULL',
      'version bigint(20) NOT NULL',
      'doc longtext NOT NULL',
      'created_at datetime(6) NOT NULL',
      'updated_at datetime(6) NOT NULL',
    ]);
    expect(await typesOf('clicks')).toEqual([
      'id varchar(255) NOT NULL',
      'doc longtext NOT NULL',
      'ingested_at datetime(6) NOT NULL',
    ]);
    expect(await columnsOf('session_facts')).toEqual([
      { name: 'id', type: 'varchar(255)', nullable: 'NO', collation: 'utf8mb4_bin' },
      { name: 'user_id', type: 'longtext', nullable: 'YES', collation: 'utf8mb4_bin' },
      { name: 'visits', type: 'int(11)', nullable: 'YES', collation: null },
      { name: 'amount_cents', type: 'bigint(20)', nullable: 'YES', collation: null },
      { name: 'amount', type: 'decimal(65,30)', nullable: 'YES', collation: null },
      { name: 'ratio', type: 'double', nullable: 'YES', collation: null },
      { name: 'active', type: 'tinyint(4)', nullable: 'YES', collation: null },
      { name: 'started_at', type: 'datetime(6)', nullable: 'YES', collation: null },
      { name: 'day', type: 'date', nullable: 'YES', collation: null },
      { name: 'ref', type: 'char(36)', nullable: 'YES', collation: 'ascii_bin' },
      // MariaDB's JSON: a LONGTEXT that must hold valid JSON
      { name: 'tags', type: 'longtext', nullable: 'YES', collation: 'utf8mb4_bin' },
      { name: 'spillway_version', type: 'bigint(20)', nullable: 'NO', collation: null },
    ]);
    await expect(
      db.query(`INSERT INTO \`${schema}\`.session_facts (id, tags, spillway_version) VALUES ('s-1', '{oops', 1)`),
    ).rejects.toThrow(/CONSTRAINT `session_facts.tags` failed/);
    expect((await columnsOf('sessions')).map((c) => c.collation)).toEqual([
      'utf8mb4_bin',
      null,
      'utf8mb4_bin',
      null,
      null,
    ]);
    expect(await primaryKeyOf('sessions')).toEqual(['id']);
    expect(await primaryKeyOf('session_facts')).toEqual(['id']);
    expect(await primaryKeyOf('session_screens')).toEqual(['session_id', 'position']);
    expect(await indexesOf('session_screens')).toEqual([]);
    expect(await primaryKeyOf('session_visits')).toEqual(['position', 'session_id']);
    expect(await indexesOf('session_visits')).toEqual(['IDX_session_visits_owner (session_id)']);

    expect(await planSchema(db, collections)).toEqual(nothingToDo);
  });

  it("makes the tables of schema public in the URL's database; the migrated spillway_tombstones needs nothing", async () => {
    const suffix = randomBytes(3).toString('hex');
    const collections = [
      { ...documents([], 'public'), table: `sessions_${suffix}` },
      { ...events('public'), table: `clicks_${suffix}` },
    ];
    const plan = await planSchema(db, collections);

    await provision(collections);

    expect(plan.allowed.map((s) => [s.sql.slice(0, s.sql.indexOf('(') - 1), s.table])).toEqual([
      [`CREATE TABLE \`sessions_${suffix}\``, `${HOME}.sessions_${suffix}`],
      [`CREATE TABLE \`clicks_${suffix}\``, `${HOME}.clicks_${suffix}`],
    ]);
    expect(await primaryKeyOf(`sessions_${suffix}`, HOME)).toEqual(['id']);
    expect(await typesOf('spillway_tombstones', HOME)).toEqual([
      'collection varchar(255) NOT NULL',
      'id varchar(255) NOT NULL',
      'version bigint(20) NOT NULL',
      'stream_ms bigint(20) NOT NULL',
      'deleted_at datetime(6) NOT NULL',
    ]);
    expect(await primaryKeyOf('spillway_tombstones', HOME)).toEqual(['collection', 'id']);
    expect(await indexesOf('spillway_tombstones', HOME)).toEqual([
      'IDX_spillway_tombstones_stream_ms_alone (stream_ms)',
    ]);
    expect(await planSchema(db, collections)).toEqual(nothingToDo);
  });

  it('adds a column added to the file to a table holding rows: the rows stay, the new column is NULL', async () => {
    const before = [column('id', 'text', true), column('status', 'text')];
    await provision([documents([facts(before)])]);
    await db.query(
      `INSERT INTO \`${schema}\`.session_facts (id, status, spillway_version) VALUES ('s-1', 'active', 3), ('s-2', 'idle', 1)`,
    );

    const after = facts([...before, column('amount_cents', 'bigint'), column('started_at', 'timestamptz')]);
    const plan = await planSchema(db, [documents([after])]);
    await provision([documents([after])]);

    expect(plan.allowed.map((s) => s.sql)).toEqual([
      `ALTER TABLE \`${schema}\`.\`session_facts\` ADD \`amount_cents\` bigint NULL`,
      `ALTER TABLE \`${schema}\`.\`session_facts\` ADD \`started_at\` datetime(6) NULL`,
    ]);
    expect(await db.query(`SELECT * FROM \`${schema}\`.session_facts ORDER BY id`)).toEqual([
      { id: 's-1', status: 'active', spillway_version: '3', amount_cents: null, started_at: null },
      { id: 's-2', status: 'idle', spillway_version: '1', amount_cents: null, started_at: null },
    ]);
    expect((await planSchema(db, [documents([after])])).allowed).toEqual([]);
  });

  it('refuses a retype with one line and runs none of the statements of the start, not even the additions', async () => {
    await provision([documents([facts([column('id', 'text', true), column('amount_cents', 'integer')])])]);
    await db.query(`INSERT INTO \`${schema}\`.session_facts VALUES ('s-1', 1250, 2)`);
    const retyped = facts([column('id', 'text', true), column('amount_cents', 'text'), column('device', 'text')]);

    const refusal = provision([documents([retyped])]);

    await expect(refusal).rejects.toThrow(SchemaChangeRefusedError);
    const message = await refusal.catch((error: Error) => error.message);
    expect(message).toBe(
      `collection file ${FILE}: table ${schema}.session_facts: column amount_cents: refusing ` +
        `"ALTER TABLE \`${schema}\`.\`session_facts\` DROP COLUMN \`amount_cents\`" (the file makes it longtext where ` +
        'the table has int(11); Spillway never drops, renames or retypes: change the table by hand or restore the ' +
        'file) (and 1 more refused: `npm run cli -- plan` lists them)',
    );
    expect(await typesOf('session_facts')).toEqual([
      'id varchar(255) NOT NULL',
      'amount_cents int(11)',
      'spillway_version bigint(20) NOT NULL',
    ]);
    expect(await db.query(`SELECT * FROM \`${schema}\`.session_facts`)).toEqual([
      { id: 's-1', amount_cents: 1250, spillway_version: '2' },
    ]);
  });

  it('refuses a column removed from the file, a renamed one, a nullability change and changed keys', async () => {
    const columns = [column('id', 'text', true), column('status', 'text'), column('amount', 'numeric')];
    await provision([documents([facts(columns)])]);
    const reasonsFor = async (changed: OutputColumn[]) =>
      (await planSchema(db, [documents([facts(changed)])])).refused.map((r) => r.reason);

    await expect(provision([documents([facts(columns.slice(0, 2))])])).rejects.toThrow(
      `collection file ${FILE}: table ${schema}.session_facts: column amount: refusing ` +
        `"ALTER TABLE \`${schema}\`.\`session_facts\` DROP COLUMN \`amount\`" (the table has this column and the file ` +
        'does not list it; Spillway never drops, renames or retypes: change the table by hand or restore the file)',
    );
    expect(await reasonsFor([columns[0], columns[1], column('total', 'numeric')] as OutputColumn[])).toEqual([
      expect.stringMatching(/column amount: refusing "ALTER TABLE .* CHANGE `amount` `total` .*the file lists total/),
    ]);
    expect(
      (await reasonsFor([column('id', 'text', true), column('status', 'text', true), column('amount', 'numeric')]))[0],
    ).toMatch(
      /refusing "ALTER TABLE `t_\w+`\.`session_facts` DROP PRIMARY KEY" \(the file's keys differ from the table's primary key/,
    );
    expect(
      await reasonsFor([column('id', 'text', true), column('status', 'text'), column('amount', 'numeric', true)]),
    ).toEqual([
      expect.stringContaining('DROP PRIMARY KEY" (the file\'s keys differ'),
      expect.stringContaining('ADD PRIMARY KEY (`id`, `amount`)" (the file\'s keys differ'),
      expect.stringContaining(
        'column amount: refusing "ALTER TABLE `' +
          schema +
          '`.`session_facts` CHANGE `amount` `amount` ' +
          'decimal(65,30) NOT NULL" (the file declares the column otherwise (decimal(65,30) NOT NULL)',
      ),
    ]);
    expect(await typesOf('session_facts')).toHaveLength(4);
  });

  it("leaves alone indexes, foreign keys, defaults and comments made by hand, and never reads tables that are not the files'", async () => {
    const columns = [column('id', 'text', true), column('amount', 'integer'), column('note', 'text')];
    await provision([documents([facts(columns)])]);
    const table = `\`${schema}\`.session_facts`;
    await db.query(`CREATE INDEX facts_by_amount ON ${table} (amount)`);
    await db.query(`CREATE UNIQUE INDEX facts_by_note ON ${table} (note(20))`);
    await db.query(`ALTER TABLE ${table} ADD CONSTRAINT amount_positive CHECK (amount > 0)`);
    await db.query(`ALTER TABLE ${table} ALTER COLUMN note SET DEFAULT 'none'`);
    await db.query(`ALTER TABLE ${table} MODIFY amount int NULL COMMENT 'in cents'`);
    await db.query(
      `ALTER TABLE ${table} ADD CONSTRAINT facts_session FOREIGN KEY (id) REFERENCES \`${schema}\`.sessions (id)`,
    );
    await db.query(`CREATE TABLE \`${schema}\`.unrelated (whatever integer)`);
    await db.query(`CREATE TABLE \`${schema}\`.sessions_archive LIKE \`${schema}\`.sessions`);

    const plan = await planSchema(db, [documents([facts(columns)])]);
    await provision([documents([facts(columns)])]);

    expect(plan.allowed).toEqual([]);
    expect(plan.refused).toEqual([]);
    // MariaDB's CHECK constraints are not read by TypeORM's schema builder: no statement names them.
    expect(plan.leftAlone.map((s) => [s.sql, s.table])).toEqual([
      [
        `ALTER TABLE ${table.replace('session_facts', '`session_facts`')} DROP FOREIGN KEY \`facts_session\``,
        `${schema}.session_facts`,
      ],
      [`DROP INDEX \`facts_by_note\` ON \`${schema}\`.\`session_facts\``, `${schema}.session_facts`],
      [`DROP INDEX \`facts_by_amount\` ON \`${schema}\`.\`session_facts\``, `${schema}.session_facts`],
      [`ALTER TABLE \`${schema}\`.\`session_facts\` CHANGE \`amount\` \`amount\` int NULL`, `${schema}.session_facts`],
      [
        `ALTER TABLE \`${schema}\`.\`session_facts\` CHANGE \`note\` \`note\` longtext CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NULL`,
        `${schema}.session_facts`,
      ],
    ]);
    expect(await indexesOf('session_facts')).toEqual(['facts_by_amount (amount)', 'facts_by_note (note)']);
    expect(
      await db.query(
        `SELECT CONSTRAINT_NAME AS name, CONSTRAINT_TYPE AS type FROM information_schema.TABLE_CONSTRAINTS
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'session_facts' ORDER BY CONSTRAINT_NAME`,
        [schema],
      ),
    ).toEqual([
      { name: 'amount_positive', type: 'CHECK' },
      { name: 'facts_by_note', type: 'UNIQUE' },
      { name: 'facts_session', type: 'FOREIGN KEY' },
      { name: 'PRIMARY', type: 'PRIMARY KEY' },
    ]);
  });

  it('lets replicas start at once: one makes the tables, the others find them made', async () => {
    const collections = [documents([facts([column('id', 'text', true), column('status', 'text')])]), events()];

    const starts = await Promise.allSettled([provision(collections), provision(collections), provision(collections)]);

    expect(starts.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(await planSchema(db, collections)).toEqual(nothingToDo);
  });

  it('makes the tables of a collection file in the database it names, and of an output that names a user entity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-schema-'));
    let collections: Collection[];
    try {
      writeFileSync(
        join(dir, 'sessions.yaml'),
        [
          'name: sessions',
          'kind: document',
          `table: ${schema}.sessions`,
          'output:',
          '  - uses: relational.write',
          '    with:',
          `      schema: ${schema}`,
          '      table: session_facts',
          '      keys: [id]',
          '      mapping: [{ user_id: userId }, { amount_cents: amountCents }]',
          '      columns: { id: text, user_id: text, amount_cents: bigint }',
          '  - uses: relational.write',
          '    with:',
          '      entity: ScreenView',
          '      foreach: "screen: screens[]"',
          '      mapping: [{ position: screen.position }, { amount: screen.amount }]',
          '',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'entities.js'), ENTITY_MODULE);
      collections = loadCollections(dir, { entities: loadEntityModules(['entities.js'], dir) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    await provision(collections);

    expect(await typesOf('sessions')).toHaveLength(5);
    expect(await typesOf('session_facts')).toEqual([
      'id varchar(255) NOT NULL',
      'user_id longtext',
      'amount_cents bigint(20)',
      'spillway_version bigint(20) NOT NULL',
    ]);
    // The entity has no schema: it is in public, the URL's database.
    expect(await typesOf('screen_views', HOME)).toEqual([
      'id varchar(255) NOT NULL',
      'position int(11) NOT NULL',
      'amount decimal(65,30)',
      'extra longtext',
      'spillway_version bigint(20) NOT NULL',
    ]);
    expect(await primaryKeyOf('screen_views', HOME)).toEqual(['id', 'position']);
    expect(await planSchema(db, collections)).toEqual(nothingToDo);
    await db.query(`DROP TABLE \`${HOME}\`.screen_views`);
  });
});
