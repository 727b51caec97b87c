import { Client } from 'pg';
import { createSpillwayDataSource } from './data-source';
import { testServers } from '../../../test/utils/servers';

/**
 * The sink acks stream entries once their transaction has committed; a commit that a PostgreSQL crash can
 * still take back would lose acknowledged writes. The test server runs with synchronous_commit = off
 * (tools/local-stack/postgres.ts, durable: false), as some production servers do.
 *
 * Real: PostgreSQL. Mocked: nothing.
 */
describe('Spillway data source', () => {
  it('commits synchronously even when the server default is asynchronous', async () => {
    const { databaseUrl } = testServers();
    const plain = new Client({ connectionString: databaseUrl });
    await plain.connect();
    const serverDefault = (await plain.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0];
    await plain.end();
    expect(serverDefault?.synchronous_commit).toBe('off');

    const dataSource = createSpillwayDataSource({ url: databaseUrl, poolSize: 1 });
    await dataSource.initialize();
    try {
      const [ours] = await dataSource.query<{ synchronous_commit: string }[]>('SHOW synchronous_commit');
      expect(ours?.synchronous_commit).toBe('on');
    } finally {
      await dataSource.destroy();
    }
  });
});
