import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { type Collection, loadCollections } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { createSpillwayDataSource, DatabaseService, qualifiedTable, SchemaProvisioner } from '@app/persistence';
import { testServers } from '../../../../test/utils/servers';
import { BatchWriterService } from './batch-writer.service';

/**
 * The sink's batch transaction against a real PostgreSQL, in a database of its own: the version and tombstone
 * guards, and statements that keep to index lookups on a table that has grown since they were prepared.
 *
 * Real: PostgreSQL. Mocked: nothing.
 */
describe('BatchWriterService', () => {
  const { databaseUrl } = testServers();
  const database = `spillway_writer_${randomBytes(4).toString('hex')}`;
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  const sessions = loadCollections(join(__dirname, '../../../../config/collections')).find((c) => c.name === 'sessions') as Collection;
  let dataSource: DataSource;
  let writer: BatchWriterService;
  let entryMs = 1_700_000_000_000;

  const admin = async (sql: string) => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const entry = (op: ChangeOp, id: string, version: number): ChangeEntry => {
    entryMs += 1;
    const doc = op === ChangeOp.PUT ? JSON.stringify({ id, userId: 'u-1', status: 'active', version }) : '';

    return { entryId: `${entryMs}-0`, op, id, version, doc, ingestedAt: entryMs };
  };
  const row = async (id: string) =>
    (await dataSource.query<{ version: string }[]>(`SELECT version FROM ${qualifiedTable(sessions)} WHERE id = $1`, [id]))[0];

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${database}`);
    const provisioning = createSpillwayDataSource({ url: url.toString(), poolSize: 2 });
    await new SchemaProvisioner(new DatabaseService(provisioning)).provision([sessions]);
    await provisioning.destroy();
    // One connection, so the statements the writer prepared can be explained on it.
    dataSource = createSpillwayDataSource({ url: url.toString(), poolSize: 1 });
    writer = new BatchWriterService(new DatabaseService(dataSource));
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  });

  it('keeps a deleted document deleted when an older put arrives late; a newer put brings it back', async () => {
    expect(await writer.write(sessions, [entry(ChangeOp.PUT, 'd-1', 1)])).toMatchObject({ inserted: 1 });
    expect(await writer.write(sessions, [entry(ChangeOp.DELETE, 'd-1', 3)])).toMatchObject({ deleted: 1 });

    expect(await writer.write(sessions, [entry(ChangeOp.PUT, 'd-1', 2)])).toMatchObject({ inserted: 0, updated: 0, stale: 1 });
    expect(await row('d-1')).toBeUndefined();

    expect(await writer.write(sessions, [entry(ChangeOp.PUT, 'd-1', 4)])).toMatchObject({ inserted: 1 });
    expect(await row('d-1')).toEqual({ version: '4' });
  });

  it('looks rows and tombstones up by key once the table has grown, though its statements were prepared on it empty', async () => {
    // Enough executions for PostgreSQL to settle on a cached plan, while the table is nearly empty.
    for (let i = 0; i < 8; i++) {
      await writer.write(sessions, [entry(ChangeOp.PUT, `g-${i}`, 1), entry(ChangeOp.DELETE, `g-${i + 100}`, 1)]);
    }
    await dataSource.query(
      `INSERT INTO ${qualifiedTable(sessions)} (id, version, doc, created_at, updated_at)
       SELECT 'bulk-' || g, 1, '{}', now(), now() FROM generate_series(1, 20000) AS g`,
    );

    const plan = async (statement: string, args: string) =>
      (await dataSource.query<{ 'QUERY PLAN': string }[]>(`EXPLAIN EXECUTE "${statement}"(${args})`)).map((r) => r['QUERY PLAN']).join('\n');
    const deletePlan = await plan('spillway:delete:sessions', `'sessions', '{bulk-1}', '{2}', '{0}'`);
    const upsertPlan = await plan('spillway:upsert:sessions', `'sessions', '{bulk-2}', '{2}', '["{}"]', '{0}'`);

    expect(deletePlan).not.toMatch(/Seq Scan on sessions/);
    expect(deletePlan).toMatch(/Index Scan using \S+ on sessions/);
    expect(upsertPlan).not.toMatch(/Seq Scan/);
  });
});
