import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataSource, Table } from 'typeorm';
import {
  type Collection,
  type ColumnType,
  loadCollections,
  type OutputColumn,
  type OutputTable,
} from '@app/collections';
import { createSpillwayDataSource } from '../data-source';
import { DatabaseService } from '../database.service';
import { SchemaProvisioner } from '../schema.provisioner';
import { testServers } from '../../../../test/utils/servers';
import { SchemaChangeRefusedError } from './schema-change-refused.error';
import { planSchema } from './schema-plan';

const FILE = 'config/collections/sessions.yaml';

const column = (name: string, type: ColumnType, isKey = false): OutputColumn => ({ name, type, isKey });

/** The state table as the releases before typed outputs made it (the former `collectionTable()`). */
function tableMadeTheOldWay(collection: Collection): Table {
  const columns =
    collection.kind === 'document'
      ? [
          { name: 'id', type: 'text', isPrimary: true },
          { name: 'version', type: 'bigint', isNullable: false },
          { name: 'doc', type: 'jsonb', isNullable: false },
          { name: 'created_at', type: 'timestamptz', isNullable: false },
          { name: 'updated_at', type: 'timestamptz', isNullable: false },
        ]
      : [
          { name: 'id', type: 'text', isPrimary: true },
          { name: 'doc', type: 'jsonb', isNullable: false },
          { name: 'ingested_at', type: 'timestamptz', isNullable: false },
        ];

  return new Table({ schema: collection.tableSchema, name: collection.table, columns });
}

/**
 * Schema creation and evolution from the entities of state tables, outputs and spillway_tombstones: what is made,
 * what only adds and runs on a live table, what is refused (nothing then runs), what is left alone, and replicas
 * starting at once. Each test works in a schema of its own in the shared database.
 *
 * Real: PostgreSQL, TypeORM's schema builder. Mocked: nothing (collections are plain data, or loaded from YAML).
 */
describe(SchemaProvisioner.name, () => {
  const { databaseUrl } = testServers();
  let db: DataSource;
  let schema: string;

  const documents = (outputs: OutputTable[] = []): Collection => ({
    name: 'sessions',
    kind: 'document',
    tableSchema: schema,
    table: 'sessions',
    key: 'id',
    partitions: 1,
    file: FILE,
    outputs,
  });
  const events = (): Collection => ({ ...documents(), name: 'clicks', kind: 'event', table: 'clicks' });
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

  /** One sink's start: its own data source, connected by the provisioner. */
  const provision = async (collections: Collection[]) => {
    const dataSource = createSpillwayDataSource({ url: databaseUrl, poolSize: 2 });
    try {
      await new SchemaProvisioner(new DatabaseService(dataSource)).provision(collections);
    } finally {
      if (dataSource.isInitialized) {
        await dataSource.destroy();
      }
    }
  };
  const columnsOf = (table: string) =>
    db.query<{ column_name: string; data_type: string; is_nullable: string }[]>(
      `SELECT column_name, data_type, is_nullable FROM information_schema.columns
        WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
      [schema, table],
    );
  const primaryKeyOf = async (table: string) =>
    (
      await db.query<{ attname: string }[]>(
        `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
          WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
        [`"${schema}"."${table}"`],
      )
    ).map((r) => r.attname);
  const indexesOf = async (table: string) =>
    (
      await db.query<{ indexname: string; indexdef: string }[]>(
        'SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname',
        [schema, table],
      )
    ).filter((i) => !i.indexname.startsWith('PK_'));

  beforeAll(async () => {
    db = createSpillwayDataSource({ url: databaseUrl, poolSize: 2 });
    await db.initialize();
    await db.runMigrations({ transaction: 'all' });
  });

  beforeEach(() => {
    schema = `t_${randomBytes(4).toString('hex')}`;
  });

  afterEach(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('creates the schema, a state table, a typed output and foreach outputs with their owner index', async () => {
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
    // The shape: the key starts with the owner column, so the primary key finds a document's rows.
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

    await provision([documents([typed, screens, visits])]);

    expect(await columnsOf('sessions')).toEqual([
      { column_name: 'id', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'version', data_type: 'bigint', is_nullable: 'NO' },
      { column_name: 'doc', data_type: 'jsonb', is_nullable: 'NO' },
      { column_name: 'created_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
      { column_name: 'updated_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
    ]);
    expect(await columnsOf('session_facts')).toEqual([
      { column_name: 'id', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'user_id', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'visits', data_type: 'integer', is_nullable: 'YES' },
      { column_name: 'amount_cents', data_type: 'bigint', is_nullable: 'YES' },
      { column_name: 'amount', data_type: 'numeric', is_nullable: 'YES' },
      { column_name: 'ratio', data_type: 'double precision', is_nullable: 'YES' },
      { column_name: 'active', data_type: 'boolean', is_nullable: 'YES' },
      { column_name: 'started_at', data_type: 'timestamp with time zone', is_nullable: 'YES' },
      { column_name: 'day', data_type: 'date', is_nullable: 'YES' },
      { column_name: 'ref', data_type: 'uuid', is_nullable: 'YES' },
      { column_name: 'tags', data_type: 'jsonb', is_nullable: 'YES' },
      { column_name: 'spillway_version', data_type: 'bigint', is_nullable: 'NO' },
    ]);
    expect(await primaryKeyOf('sessions')).toEqual(['id']);
    expect(await primaryKeyOf('session_facts')).toEqual(['id']);
    expect(await primaryKeyOf('session_screens')).toEqual(['session_id', 'position']);
    expect(await indexesOf('session_screens')).toEqual([]);
    expect(await primaryKeyOf('session_visits')).toEqual(['position', 'session_id']);
    expect(await indexesOf('session_visits')).toEqual([
      {
        indexname: 'IDX_session_visits_owner',
        indexdef: `CREATE INDEX "IDX_session_visits_owner" ON ${schema}.session_visits USING btree (session_id)`,
      },
    ]);

    expect(await planSchema(db, [documents([typed, screens, visits])])).toEqual({
      pendingMigrations: [],
      allowed: [],
      refused: [],
      leftAlone: [],
    });
  });

  it('finds nothing to do for state tables made the old way and for the migrated spillway_tombstones', async () => {
    const runner = db.createQueryRunner();
    try {
      await runner.createSchema(schema, true);
      for (const collection of [documents(), events()]) {
        await runner.createTable(tableMadeTheOldWay(collection), true);
      }
    } finally {
      await runner.release();
    }

    expect(await planSchema(db, [documents(), events()])).toEqual({
      pendingMigrations: [],
      allowed: [],
      refused: [],
      leftAlone: [],
    });
  });

  it('adds a column added to the file to a table holding rows: the rows stay, the new column is NULL', async () => {
    const before = [column('id', 'text', true), column('status', 'text')];
    await provision([documents([facts(before)])]);
    await db.query(
      `INSERT INTO "${schema}".session_facts (id, status, spillway_version) VALUES ('s-1', 'active', 3), ('s-2', 'idle', 1)`,
    );

    const after = facts([...before, column('amount_cents', 'bigint'), column('started_at', 'timestamptz')]);
    const plan = await planSchema(db, [documents([after])]);
    await provision([documents([after])]);

    expect(plan.allowed.map((s) => s.sql)).toEqual([
      `ALTER TABLE "${schema}"."session_facts" ADD "amount_cents" bigint`,
      `ALTER TABLE "${schema}"."session_facts" ADD "started_at" TIMESTAMP WITH TIME ZONE`,
    ]);
    expect(await db.query(`SELECT * FROM "${schema}".session_facts ORDER BY id`)).toEqual([
      { id: 's-1', status: 'active', spillway_version: '3', amount_cents: null, started_at: null },
      { id: 's-2', status: 'idle', spillway_version: '1', amount_cents: null, started_at: null },
    ]);
    expect((await planSchema(db, [documents([after])])).allowed).toEqual([]);
  });

  it('refuses a retype with one line and runs none of the statements of the start, not even the additions', async () => {
    await provision([documents([facts([column('id', 'text', true), column('amount_cents', 'integer')])])]);
    await db.query(`INSERT INTO "${schema}".session_facts VALUES ('s-1', 1250, 2)`);
    const retyped = facts([column('id', 'text', true), column('amount_cents', 'text'), column('device', 'text')]);

    const refusal = provision([documents([retyped])]);

    await expect(refusal).rejects.toThrow(SchemaChangeRefusedError);
    const message = await refusal.catch((error: Error) => error.message);
    expect(message).toBe(
      `collection file ${FILE}: table ${schema}.session_facts: column amount_cents: refusing ` +
        `"ALTER TABLE "${schema}"."session_facts" DROP COLUMN "amount_cents"" (the file makes it text where the ` +
        'table has integer; Spillway never drops, renames or retypes: change the table by hand or restore the file) ' +
        '(and 1 more refused: `npm run cli -- plan` lists them)',
    );
    expect(await columnsOf('session_facts')).toEqual([
      { column_name: 'id', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'amount_cents', data_type: 'integer', is_nullable: 'YES' },
      { column_name: 'spillway_version', data_type: 'bigint', is_nullable: 'NO' },
    ]);
    expect(await db.query(`SELECT * FROM "${schema}".session_facts`)).toEqual([
      { id: 's-1', amount_cents: 1250, spillway_version: '2' },
    ]);
  });

  it('refuses a column removed from the file, and a changed key', async () => {
    const columns = [column('id', 'text', true), column('status', 'text'), column('amount', 'numeric')];
    await provision([documents([facts(columns)])]);

    await expect(provision([documents([facts(columns.slice(0, 2))])])).rejects.toThrow(
      `collection file ${FILE}: table ${schema}.session_facts: column amount: refusing ` +
        `"ALTER TABLE "${schema}"."session_facts" DROP COLUMN "amount"" (the table has this column and the file ` +
        'does not list it; Spillway never drops, renames or retypes: change the table by hand or restore the file)',
    );
    const rekeyed = await planSchema(db, [
      documents([facts([column('id', 'text', true), column('status', 'text', true), columns[2] as OutputColumn])]),
    ]);
    expect(rekeyed.allowed).toEqual([]);
    expect(rekeyed.refused[0]?.reason).toMatch(/DROP CONSTRAINT .*the file's keys differ from the table's primary key/);
    expect(await columnsOf('session_facts')).toHaveLength(4);
  });

  it("leaves alone indexes and constraints made by hand, and never reads tables that are not the files'", async () => {
    await provision([documents([facts([column('id', 'text', true), column('amount', 'integer')])])]);
    await db.query(`CREATE INDEX facts_by_amount ON "${schema}".session_facts (amount)`);
    await db.query(`ALTER TABLE "${schema}".session_facts ADD CONSTRAINT amount_positive CHECK (amount > 0)`);
    await db.query(`CREATE TABLE "${schema}".unrelated (whatever integer)`);
    await db.query(`CREATE TABLE "${schema}".sessions_archive (LIKE "${schema}".sessions)`);

    const plan = await planSchema(db, [documents([facts([column('id', 'text', true), column('amount', 'integer')])])]);
    await provision([documents([facts([column('id', 'text', true), column('amount', 'integer')])])]);

    expect(plan.allowed).toEqual([]);
    expect(plan.refused).toEqual([]);
    expect(plan.leftAlone.map((s) => [s.sql, s.table])).toEqual([
      [`DROP INDEX "${schema}"."facts_by_amount"`, `${schema}.session_facts`],
      [`ALTER TABLE "${schema}"."session_facts" DROP CONSTRAINT "amount_positive"`, `${schema}.session_facts`],
    ]);
    expect((await indexesOf('session_facts')).map((i) => i.indexname)).toEqual(['facts_by_amount']);
  });

  it('lets replicas start at once: one makes the tables, the others find them made', async () => {
    const collections = [documents([facts([column('id', 'text', true), column('status', 'text')])]), events()];

    const starts = await Promise.allSettled([provision(collections), provision(collections), provision(collections)]);

    expect(starts.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(await planSchema(db, collections)).toMatchObject({ allowed: [], refused: [] });
  });

  it('makes the tables of a collection file with outputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spillway-schema-'));
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
          `      schema: ${schema}`,
          '      table: session_screens',
          '      foreach: "screen: screens[]"',
          '      keys: [{ session_id: id }, { position: screen.position }]',
          '      mapping: [{ name: screen.name }, { seconds: screen.seconds }]',
          '      columns: { session_id: text, position: integer, name: text, seconds: double }',
          '',
        ].join('\n'),
      );

      await provision(loadCollections(dir));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    expect(await columnsOf('session_facts')).toEqual([
      { column_name: 'id', data_type: 'text', is_nullable: 'NO' },
      { column_name: 'user_id', data_type: 'text', is_nullable: 'YES' },
      { column_name: 'amount_cents', data_type: 'bigint', is_nullable: 'YES' },
      { column_name: 'spillway_version', data_type: 'bigint', is_nullable: 'NO' },
    ]);
    expect(await primaryKeyOf('session_screens')).toEqual(['session_id', 'position']);
    expect((await columnsOf('session_screens')).map((c) => [c.column_name, c.data_type])).toEqual([
      ['session_id', 'text'],
      ['position', 'integer'],
      ['name', 'text'],
      ['seconds', 'double precision'],
      ['spillway_version', 'bigint'],
    ]);
  });
});
