import { join } from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { type Collection, loadCollections } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import {
  createSpillwayDataSource,
  DatabaseService,
  postgresDialect,
  PostgresSession,
  SchemaProvisioner,
} from '@app/persistence';
import { scratchPostgresDatabase } from '../../../../test/utils/scratch-database';
import { testServers } from '../../../../test/utils/servers';
import { BatchWriter } from './batch-writer';

/**
 * The sink's batch write against a real PostgreSQL, in a database of its own: the version and tombstone guards,
 * the counts, and replicas writing the same documents at once.
 *
 * Real: PostgreSQL. Mocked: nothing.
 */
describe('BatchWriter', () => {
  const database = scratchPostgresDatabase(testServers().databaseUrl, 'spillway_writer');
  const sessions = loadCollections(join(__dirname, '../../../../config/collections')).find(
    (c) => c.name === 'sessions',
  ) as Collection;
  let dataSource: DataSource;
  let writer: BatchWriter;
  let entryMs = 1_700_000_000_000;

  const entry = (op: ChangeOp, id: string, version: number): ChangeEntry => {
    entryMs += 1;
    const doc = op === ChangeOp.PUT ? JSON.stringify({ id, userId: 'u-1', status: 'active', version }) : '';

    return { entryId: `${entryMs}-0`, op, id, version, doc, ingestedAt: entryMs };
  };
  const row = async (id: string) =>
    (
      await dataSource.query<{ version: string }[]>(
        `SELECT version FROM ${postgresDialect.qualifiedTable(sessions.tableSchema, sessions.table)} WHERE id = $1`,
        [id],
      )
    )[0];

  beforeAll(async () => {
    await database.create();
    const provisioning = createSpillwayDataSource({ url: database.url, poolSize: 2 });
    await new SchemaProvisioner(new DatabaseService(provisioning)).provision([sessions]);
    await provisioning.destroy();
    dataSource = createSpillwayDataSource({ url: database.url, poolSize: 2 });
    writer = new BatchWriter(new DatabaseService(dataSource));
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database.drop();
  });

  it('keeps a deleted document deleted when an older put arrives late; a newer put brings it back', async () => {
    expect((await writer.write(sessions, [entry(ChangeOp.PUT, 'd-1', 1)])).counts).toMatchObject({ inserted: 1 });
    expect((await writer.write(sessions, [entry(ChangeOp.DELETE, 'd-1', 3)])).counts).toMatchObject({ deleted: 1 });

    expect((await writer.write(sessions, [entry(ChangeOp.PUT, 'd-1', 2)])).counts).toMatchObject({
      inserted: 0,
      updated: 0,
      stale: 1,
    });
    expect(await row('d-1')).toBeUndefined();

    expect((await writer.write(sessions, [entry(ChangeOp.PUT, 'd-1', 4)])).counts).toMatchObject({ inserted: 1 });
    expect(await row('d-1')).toEqual({ version: '4' });
  });

  it('writes a batch of puts and deletes in one statement, counting what each entry came to', async () => {
    await writer.write(sessions, [entry(ChangeOp.PUT, 'b-old', 5), entry(ChangeOp.PUT, 'b-gone', 1)]);

    const outcome = await writer.write(sessions, [
      entry(ChangeOp.PUT, 'b-new', 1),
      entry(ChangeOp.PUT, 'b-old', 6),
      entry(ChangeOp.PUT, 'b-new', 2), // supersedes the first in the batch
      entry(ChangeOp.DELETE, 'b-gone', 2),
      entry(ChangeOp.DELETE, 'b-never', 1), // no row: only its tombstone is recorded
    ]);

    expect(outcome).toEqual({ counts: { inserted: 1, updated: 1, deleted: 1, stale: 2, filtered: 0 }, rejected: [] });
    expect(await row('b-new')).toEqual({ version: '2' });
    expect(await row('b-old')).toEqual({ version: '6' });
    expect(await row('b-gone')).toBeUndefined();
    const tombstones = await dataSource.query<{ id: string; version: string }[]>(
      `SELECT id, version FROM spillway_tombstones WHERE collection = 'sessions' AND id LIKE 'b-%' ORDER BY id`,
    );
    expect(tombstones).toEqual([
      { id: 'b-gone', version: '2' },
      { id: 'b-never', version: '1' },
    ]);
  });

  it('lets two replicas write the same documents at once without deadlocking; the newest version of each wins', async () => {
    const other = createSpillwayDataSource({ url: database.url, poolSize: 1 });
    const otherWriter = new BatchWriter(new DatabaseService(other));
    const ids = Array.from({ length: 50 }, (_, i) => `c-${i}`);
    try {
      // Each round, the two write every id, in opposite orders, with interleaved versions.
      for (let round = 0; round < 20; round++) {
        await Promise.all([
          writer.write(
            sessions,
            ids.map((id) => entry(ChangeOp.PUT, id, 2 * round + 1)),
          ),
          otherWriter.write(
            sessions,
            [...ids].reverse().map((id) => entry(ChangeOp.PUT, id, 2 * round + 2)),
          ),
        ]);
      }
    } finally {
      await other.destroy();
    }

    const versions = await dataSource.query<{ version: string }[]>(
      `SELECT DISTINCT version FROM ${postgresDialect.qualifiedTable(sessions.tableSchema, sessions.table)} WHERE id LIKE 'c-%'`,
    );
    expect(versions).toEqual([{ version: '40' }]);
  });

  it('looks tombstones up by key even when the statistics were taken while the table held one row', async () => {
    // Statistics from a one-row table call every column unique, so collection = 'sessions' looks like one row at
    // any size; an index that starts with collection then looked as good as the key, and each document of a batch
    // read every tombstone of the collection.
    await dataSource.query(`TRUNCATE spillway_tombstones`);
    await dataSource.query(`INSERT INTO spillway_tombstones VALUES ('sessions', 't-0', 1, 1, now())`);
    await dataSource.query(`ANALYZE spillway_tombstones`);
    await dataSource.query(
      `INSERT INTO spillway_tombstones SELECT 'sessions', 't-' || n, 1, n, now() FROM generate_series(1, 5000) AS n`,
    );
    const client = new Client({ connectionString: database.url });
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    await client.connect();
    try {
      await client.query(`LOAD 'auto_explain'`);
      await client.query(`SET auto_explain.log_min_duration = 0`);
      await client.query(`SET auto_explain.log_nested_statements = on`);
      await client.query(`SET auto_explain.log_level = notice`);
      const puts = Array.from({ length: 300 }, (_, i) => entry(ChangeOp.PUT, `k-${i}`, 1));
      await postgresDialect.state.writeDocuments(
        new PostgresSession(client),
        sessions,
        { puts, deletes: [] },
        { withIds: false },
      );
    } finally {
      await client.end();
    }

    const upsert = plans.find((plan) => plan.includes('INSERT INTO') && plan.includes('spillway_tombstones tb'));
    expect(upsert).toMatch(/Index Scan using "PK_spillway_tombstones" on spillway_tombstones tb/);
    expect(upsert).toMatch(/Index Cond: \(\(collection = 'sessions'::text\) AND \(id = i\.id\)\)/);
  });
});
