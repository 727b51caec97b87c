import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { loadCollections } from '@app/collections';
import { createSpillwayDataSource, DatabaseService, SchemaProvisioner } from '@app/persistence';
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
  const { databaseUrl } = testServers();
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
});
