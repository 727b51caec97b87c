import { Client } from 'pg';
import { testServers } from '../../../../../test/utils/servers';
import { copyIn } from './copy-in';
import { sqlStateOf, UNIQUE_VIOLATION } from './error-classes';

/**
 * The sink's COPY sends the statement, the data and its end in one write, without waiting for the server's
 * CopyInResponse. What it must keep from a streaming COPY: every byte lands as sent, a refused COPY changes nothing
 * and says why, and the connection goes on (the data sent after a failed COPY is dropped by the server, not run).
 *
 * Real: PostgreSQL. Mocked: nothing.
 */
describe('PostgreSQL COPY in one write', () => {
  let client: Client;

  beforeEach(async () => {
    client = new Client({ connectionString: testServers().databaseUrl });
    await client.connect();
    await client.query('CREATE TEMP TABLE copied (id text PRIMARY KEY, doc jsonb NOT NULL)');
  });

  afterEach(async () => {
    await client.end();
  });

  const stored = async (): Promise<{ id: string; doc: unknown }[]> =>
    (await client.query<{ id: string; doc: unknown }>('SELECT id, doc FROM copied ORDER BY id')).rows;

  it('lands every row as sent, multi-byte text included, and counts them', async () => {
    const copied = await copyIn(client, 'COPY copied (id, doc) FROM STDIN', 'a\t{"name":"Zoë ✓ 😀"}\nb\t{"n":2}\n');

    expect(copied).toBe(2);
    expect(await stored()).toEqual([
      { id: 'a', doc: { name: 'Zoë ✓ 😀' } },
      { id: 'b', doc: { n: 2 } },
    ]);
  });

  it('lands a COPY larger than the socket buffers whole', async () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `id-${String(i).padStart(5, '0')}`);
    const data = ids.map((id) => `${id}\t{"pad":"${'x'.repeat(100)}"}\n`).join('');

    expect(await copyIn(client, 'COPY copied (id, doc) FROM STDIN', data)).toBe(20_000);
    expect((await client.query('SELECT count(*)::int AS n FROM copied')).rows[0]).toEqual({ n: 20_000 });
  });

  it('rejects a batch the table refuses with the server error, stores none of it, and the connection goes on', async () => {
    await copyIn(client, 'COPY copied (id, doc) FROM STDIN', 'a\t{"v":1}\n');

    const refused = copyIn(client, 'COPY copied (id, doc) FROM STDIN', 'b\t{"v":1}\na\t{"v":2}\nc\t{"v":1}\n');

    await expect(refused.catch(sqlStateOf)).resolves.toBe(UNIQUE_VIOLATION);
    expect(await stored()).toEqual([{ id: 'a', doc: { v: 1 } }]);
    expect(await copyIn(client, 'COPY copied (id, doc) FROM STDIN', 'b\t{"v":1}\n')).toBe(1);
    expect((await stored()).map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('rejects a COPY the server cannot start, and the connection goes on past the data sent with it', async () => {
    const missing = copyIn(client, 'COPY no_such_table (id) FROM STDIN', 'a\n');

    await expect(missing).rejects.toThrow(/no_such_table/);
    expect(await stored()).toEqual([]);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
