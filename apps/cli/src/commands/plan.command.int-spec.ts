import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { loadCollections } from '@app/collections';
import { collectionsIn, createSpillwayDataSource, DatabaseService, SchemaProvisioner } from '@app/persistence';
import { testServers } from '../../../../test/utils/servers';
import { plan } from './plan.command';

const root = join(__dirname, '..', '..', '..', '..');

/**
 * `spillway plan` end to end: the command line under tsx, as `npm run cli -- plan` runs it, against the test
 * PostgreSQL, for a collection file whose table lives in a schema of its own.
 *
 * Real: all.
 */
describe(plan.name, () => {
  const { databaseUrl, mariadbUrl } = testServers();
  let db: DataSource;
  let dir: string;
  let schema: string;

  const cli = (env: Record<string, string> = {}) => {
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'apps/cli/src/main.ts', 'plan'], {
      cwd: root,
      env: { ...process.env, COLLECTIONS_DIR: dir, DATABASE_URL: databaseUrl, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

    return { status: result.status, stdout: result.stdout.split('\n').filter(Boolean), stderr: result.stderr.trim() };
  };

  beforeAll(async () => {
    db = createSpillwayDataSource({ url: databaseUrl, poolSize: 1 });
    await db.initialize();
    await db.runMigrations({ transaction: 'all' });
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spillway-plan-'));
    schema = `t_${randomBytes(4).toString('hex')}`;
    writeFileSync(join(dir, 'things.yaml'), `name: things\nkind: document\ntable: ${schema}.things\n`);
  });

  afterEach(async () => {
    rmSync(dir, { recursive: true, force: true });
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  afterAll(async () => {
    await db?.destroy();
  });

  it('exits 2 with the DDL a sink would run, then 0 once a sink has run it', async () => {
    const before = cli();

    expect(before.status).toBe(2);
    expect(before.stdout).toEqual([
      `CREATE SCHEMA IF NOT EXISTS "${schema}";`,
      expect.stringMatching(new RegExp(`^CREATE TABLE "${schema}"\\."things" \\("id" text NOT NULL, .*\\);$`)),
    ]);

    const sink = createSpillwayDataSource({ url: databaseUrl, poolSize: 2 });
    await new SchemaProvisioner(new DatabaseService(sink)).provision(loadCollections(dir));
    await sink.destroy();
    const after = cli();

    expect(after.status).toBe(0);
    expect(after.stdout).toEqual([]);
  });

  it('exits 1 with the refused statement and its reason', async () => {
    const sink = createSpillwayDataSource({ url: databaseUrl, poolSize: 2 });
    await new SchemaProvisioner(new DatabaseService(sink)).provision(loadCollections(dir));
    await sink.destroy();
    await db.query(`ALTER TABLE "${schema}".things ADD COLUMN note text`);

    const result = cli();

    expect(result.status).toBe(1);
    expect(result.stdout).toEqual([
      `-- refused: collection file ${join(dir, 'things.yaml')}: table ${schema}.things: column note: refusing ` +
        `"ALTER TABLE "${schema}"."things" DROP COLUMN "note"" (the table has this column and the file does not ` +
        'list it; Spillway never drops, renames or retypes: change the table by hand or restore the file)',
    ]);
  });

  it('exits 1 with one line when the database cannot be reached', () => {
    const result = cli({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/spillway' });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^spillway: .*ECONNREFUSED/);
  });

  it("plans each connection's database: its state table in both, each output in the one it names", async () => {
    writeFileSync(
      join(dir, 'things.yaml'),
      `name: things
kind: document
table: ${schema}.things
output:
  - uses: relational.write
    with: { schema: ${schema}, table: things_facts, keys: [id], mapping: [n], columns: { id: text, n: integer }, connection: analytics }
`,
    );
    const env = { SPILLWAY_CONNECTIONS: 'analytics', SPILLWAY_CONNECTION_ANALYTICS_URL: mariadbUrl };
    const maria = createSpillwayDataSource({ url: mariadbUrl, poolSize: 2 });
    try {
      const before = cli(env);

      expect(before.status).toBe(2);
      expect(before.stdout).toContain('-- connection default');
      expect(before.stdout).toContain('-- connection analytics');
      const analytics = before.stdout.slice(before.stdout.indexOf('-- connection analytics'));
      const postgres = before.stdout.slice(0, before.stdout.indexOf('-- connection analytics'));
      expect(postgres).toContainEqual(expect.stringMatching(new RegExp(`^CREATE TABLE "${schema}"\\."things" `)));
      expect(postgres.join('\n')).not.toContain('things_facts');
      expect(analytics).toContainEqual(expect.stringMatching(new RegExp(`^CREATE TABLE \`${schema}\`\\.\`things\` `)));
      expect(analytics).toContainEqual(
        expect.stringMatching(new RegExp(`^CREATE TABLE \`${schema}\`\\.\`things_facts\` `)),
      );

      const all = loadCollections(dir, { connections: ['default', 'analytics'] });
      const postgresSink = createSpillwayDataSource({ url: databaseUrl, poolSize: 2 });
      await new SchemaProvisioner(new DatabaseService(postgresSink)).provision(collectionsIn(all, 'default'));
      await postgresSink.destroy();
      await new SchemaProvisioner(new DatabaseService(maria)).provision(collectionsIn(all, 'analytics'));
      const after = cli(env);

      expect(after.status).toBe(0);
      expect(after.stdout).toEqual(['-- connection default', '-- connection analytics']);
      expect(cli({ ...env, SPILLWAY_CONNECTION_ANALYTICS_URL: '' }).stderr).toBe(
        'spillway: SPILLWAY_CONNECTIONS names analytics, so SPILLWAY_CONNECTION_ANALYTICS_URL must be set',
      );
    } finally {
      if (!maria.isInitialized) await maria.initialize();
      await maria.query(`DROP DATABASE IF EXISTS \`${schema}\``);
      await maria.destroy();
    }
  });
});
