import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { type Collection, loadCollections, type OutputTable } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import {
  createSpillwayDataSource,
  DatabaseService,
  OutputWriteBuilder,
  postgresDialect,
  PostgresSession,
  SchemaProvisioner,
} from '@app/persistence';
import { scratchPostgresDatabase } from '../../../../test/utils/scratch-database';
import { testServers } from '../../../../test/utils/servers';
import { BatchWriter } from './batch-writer';

/**
 * The batch write of a collection with output tables, against a real PostgreSQL in a database of its own: the state
 * table and every output in one transaction, the version guard and the tombstones in every output, foreach
 * replacement, filters, exclude_ops, events, rejects, and replicas writing the same documents at once.
 *
 * Real: PostgreSQL, the collection files' loader and projector, the schema provisioner. Mocked: nothing.
 */

interface Screen {
  position?: unknown;
  name?: string;
}
interface Session {
  id: string;
  tenant?: string;
  userId?: string;
  status?: string;
  visits?: number;
  amountCents?: number | string;
  amount?: number | string;
  ratio?: number;
  active?: boolean;
  startedAt?: string;
  day?: string;
  ref?: string;
  tags?: unknown;
  screens?: Screen[];
}

/** A document collection with four outputs (plain, foreach, exclude_ops, composite key) and a filter, in `schema`. */
const sessionsFile = (schema: string) => `
name: ${schema}
kind: document
table: ${schema}.sessions
transform:
  - uses: filter
    with: { language: jmespath, expression: "status != 'draft'" }
  - uses: add_field
    with: { field: tenant, language: jmespath, expression: "tenant || 'none'" }
output:
  - uses: relational.write
    with:
      schema: ${schema}
      table: facts
      keys: [id]
      mapping:
        - user_id: userId
        - status
        - visits
        - amount_cents: amountCents
        - amount
        - ratio
        - active
        - started_at: startedAt
        - day
        - ref
        - tags
      columns:
        id: text
        user_id: text
        status: text
        visits: integer
        amount_cents: bigint
        amount: numeric
        ratio: double
        active: boolean
        started_at: timestamptz
        day: date
        ref: uuid
        tags: jsonb
  - uses: relational.write
    with:
      schema: ${schema}
      table: screens
      foreach: "screen: screens[]"
      keys: [{ session_id: id }, { position: screen.position }]
      mapping: [{ name: screen.name }]
      columns: { session_id: text, position: integer, name: text }
  - uses: relational.write
    with:
      schema: ${schema}
      table: archive
      keys: [id]
      mapping: [status]
      columns: { id: text, status: text }
      exclude_ops: [delete]
  - uses: relational.write
    with:
      schema: ${schema}
      table: by_tenant
      keys: [tenant, id]
      mapping: [{ user_id: userId }]
      columns: { tenant: text, id: text, user_id: text }
`;

/** An event collection with one output and a filter, in `schema`. */
const clicksFile = (schema: string) => `
name: ${schema}_clicks
kind: event
table: ${schema}.clicks
transform:
  - uses: filter
    with: { language: jmespath, expression: "screen != 'ignored'" }
output:
  - uses: relational.write
    with:
      schema: ${schema}
      table: click_facts
      keys: [id]
      mapping: [screen]
      columns: { id: text, screen: text }
`;

describe('BatchWriter with output tables', () => {
  const database = scratchPostgresDatabase(testServers().databaseUrl, 'spillway_outputs');
  let dataSource: DataSource;
  let sut: BatchWriter;
  let provisioner: SchemaProvisioner;
  let entryMs = 1_700_000_000_000;
  let schema: string;
  let sessions: Collection;
  let files: string;

  const put = (version: number, doc: Session): ChangeEntry => {
    entryMs += 1;

    return {
      entryId: `${entryMs}-0`,
      op: ChangeOp.PUT,
      id: doc.id,
      version,
      doc: JSON.stringify(doc),
      ingestedAt: entryMs,
    };
  };
  const del = (id: string, version: number): ChangeEntry => {
    entryMs += 1;

    return { entryId: `${entryMs}-0`, op: ChangeOp.DELETE, id, version, doc: '', ingestedAt: entryMs };
  };
  const event = (id: string, doc: object): ChangeEntry => {
    entryMs += 1;

    return {
      entryId: `${entryMs}-0`,
      op: ChangeOp.EVENT,
      id,
      version: 1,
      doc: JSON.stringify({ id, ...doc }),
      ingestedAt: entryMs,
    };
  };
  const query = <T>(sql: string, values: unknown[] = []) => dataSource.query<T[]>(sql, values);
  /** Loads a collection file as the sink does, and provisions its tables. */
  const collectionOf = async (name: string, yaml: string): Promise<Collection> => {
    writeFileSync(join(files, `${name}.yaml`), yaml);
    const collection = loadCollections(files).find((c) => c.name === name) as Collection;
    await provisioner.provision([collection]);

    return collection;
  };
  /** The rows of one output of `sessions`, as `its columns… @version` strings (NULLs left out), sorted. */
  const rowsOf = async (table: string, where = 'TRUE'): Promise<string[]> => {
    const output = sessions.outputs.find((o) => o.table === table) as OutputTable;
    const names = output.columns.map((c) => `"${c.name}"::text`).join(`, `);
    const rows = await query<{ line: string }>(
      `SELECT concat_ws(' ', ${names}) || ' @' || spillway_version AS line FROM "${schema}"."${table}" WHERE ${where}`,
    );

    return rows.map((r) => r.line).sort();
  };
  const stateVersion = async (id: string) =>
    (await query<{ version: string }>(`SELECT version FROM "${schema}".sessions WHERE id = $1`, [id]))[0]?.version;

  beforeAll(async () => {
    await database.create();
    dataSource = createSpillwayDataSource({ url: database.url, poolSize: 3 });
    const service = new DatabaseService(dataSource);
    provisioner = new SchemaProvisioner(service);
    sut = new BatchWriter(service);
  });

  beforeEach(async () => {
    schema = `t_${randomBytes(4).toString('hex')}`;
    files = mkdtempSync(join(tmpdir(), 'spillway-outputs-'));
    sessions = await collectionOf(schema, sessionsFile(schema));
  });

  afterEach(() => {
    rmSync(files, { recursive: true, force: true });
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database.drop();
  });

  it('writes every column type into a plain output, NULL for a missing field, and updates it from a newer version', async () => {
    const full: Session = {
      id: 's-1',
      userId: 'u-1',
      status: 'active',
      visits: 7,
      amountCents: 9_007_199_254_740_991,
      amount: 12.5,
      ratio: 0.25,
      active: true,
      startedAt: '2024-05-01T10:00:00.000Z',
      day: '2024-05-01',
      ref: '0190a0b4-7c2e-7a3c-9f1e-2b3c4d5e6f70',
      tags: { a: [1, 'x'], q: 'say "hi"' },
    };

    const first = await sut.writeIsolating(sessions, [put(1, full), put(1, { id: 's-2' })]);
    await sut.writeIsolating(sessions, [put(2, { ...full, userId: 'u-2', visits: 8, tags: undefined })]);

    expect(first.counts).toEqual({ inserted: 2, updated: 0, deleted: 0, stale: 0, filtered: 0 });
    const facts = await query<Record<string, unknown>>(
      `SELECT id, user_id, visits, amount_cents::text, amount::text, ratio, active, started_at, day::text, ref::text,
              tags, spillway_version::int FROM "${schema}".facts ORDER BY id`,
    );
    expect(facts).toEqual([
      {
        id: 's-1',
        user_id: 'u-2',
        visits: 8,
        amount_cents: '9007199254740991',
        amount: '12.5',
        ratio: 0.25,
        active: true,
        started_at: new Date('2024-05-01T10:00:00.000Z'),
        day: '2024-05-01',
        ref: '0190a0b4-7c2e-7a3c-9f1e-2b3c4d5e6f70',
        tags: null,
        spillway_version: 2,
      },
      expect.objectContaining({ id: 's-2', user_id: null, visits: null, tags: null, spillway_version: 1 }),
    ]);
    await sut.writeIsolating(sessions, [put(3, full)]);
    expect((await query<{ tags: unknown }>(`SELECT tags FROM "${schema}".facts WHERE id = 's-1'`))[0]?.tags).toEqual(
      full.tags,
    );
  });

  it('never lets a late, older version overwrite a newer one, in any output', async () => {
    const newer: Session = { id: 'l-1', userId: 'new', status: 'active', screens: [{ position: 1, name: 'home' }] };
    const older: Session = {
      id: 'l-1',
      userId: 'old',
      status: 'idle',
      tenant: 'other',
      screens: [
        { position: 1, name: 'login' },
        { position: 2, name: 'pay' },
      ],
    };
    const expectNewest = async () => {
      expect(await rowsOf('facts')).toEqual(['l-1 new active @3']);
      expect(await rowsOf('screens')).toEqual(['l-1 1 home @3']);
      expect(await rowsOf('archive')).toEqual(['l-1 active @3']);
      expect(await rowsOf('by_tenant')).toEqual(['none l-1 new @3']);
    };
    await sut.writeIsolating(sessions, [put(3, newer)]);

    const late = await sut.writeIsolating(sessions, [put(2, older)]);

    expect(late.counts).toMatchObject({ inserted: 0, updated: 0, stale: 1 });
    await expectNewest();
    const redelivered = await sut.writeIsolating(sessions, [put(3, newer)]);
    expect(redelivered.counts).toMatchObject({ inserted: 0, updated: 0, stale: 1 });
    await expectNewest();
  });

  it('removes a deleted document from every output; tombstones keep a redelivered older put out of all of them', async () => {
    const doc: Session = { id: 'd-1', userId: 'u', status: 'active', screens: [{ position: 1, name: 'a' }] };
    await sut.writeIsolating(sessions, [put(1, doc), put(1, { ...doc, id: 'd-2' })]);

    const deleted = await sut.writeIsolating(sessions, [del('d-1', 2)]);
    const redelivered = await sut.writeIsolating(sessions, [put(1, doc)]);

    expect(deleted.counts).toMatchObject({ deleted: 1 });
    expect(redelivered.counts).toMatchObject({ inserted: 0, stale: 1 });
    expect(await stateVersion('d-1')).toBeUndefined();
    expect(await rowsOf('facts')).toEqual([expect.stringMatching(/^d-2 /)]);
    expect(await rowsOf('screens')).toEqual(['d-2 1 a @1']);
    expect(await rowsOf('by_tenant')).toEqual(['none d-2 u @1']);
    // exclude_ops: [delete] keeps the deleted document's row
    expect(await rowsOf('archive')).toEqual(['d-1 active @1', 'd-2 active @1']);

    await sut.writeIsolating(sessions, [put(3, { ...doc, status: 'idle' })]);
    expect(await rowsOf('facts', `id = 'd-1'`)).toEqual([expect.stringMatching(/^d-1 u idle @3$/)]);
    expect(await rowsOf('archive', `id = 'd-1'`)).toEqual(['d-1 idle @3']);
  });

  it('replaces a foreach output as a whole: grows, shrinks, empties and clears on delete, leaving no orphans', async () => {
    const screens = (...names: string[]) => names.map((name, i) => ({ position: i + 1, name }));
    const doc = (id: string, ...names: string[]): Session => ({ id, screens: screens(...names) });
    await sut.writeIsolating(sessions, [put(1, doc('f-1', 'a')), put(1, doc('f-2', 'x', 'y'))]);

    await sut.writeIsolating(sessions, [put(2, doc('f-1', 'a', 'b', 'c'))]);
    expect(await rowsOf('screens', `session_id = 'f-1'`)).toEqual(['f-1 1 a @2', 'f-1 2 b @2', 'f-1 3 c @2']);

    await sut.writeIsolating(sessions, [put(3, doc('f-1', 'c'))]);
    expect(await rowsOf('screens', `session_id = 'f-1'`)).toEqual(['f-1 1 c @3']);

    await sut.writeIsolating(sessions, [put(4, doc('f-1'))]);
    expect(await rowsOf('screens', `session_id = 'f-1'`)).toEqual([]);
    expect(await rowsOf('facts', `id = 'f-1'`)).toHaveLength(1);

    await sut.writeIsolating(sessions, [put(5, doc('f-1', 'd', 'e')), del('f-2', 2)]);
    expect(await rowsOf('screens')).toEqual(['f-1 1 d @5', 'f-1 2 e @5']);
  });

  it('keeps a document out of every output while it fails the filter: pass, fail, pass', async () => {
    const doc: Session = { id: 'p-1', userId: 'u', status: 'active', screens: [{ position: 1, name: 'a' }] };
    const everyOutput = async () =>
      [
        ...(await rowsOf('facts')),
        ...(await rowsOf('screens')),
        ...(await rowsOf('archive')),
        ...(await rowsOf('by_tenant')),
      ].length;
    await sut.writeIsolating(sessions, [put(1, doc)]);
    expect(await everyOutput()).toBe(4);

    const failed = await sut.writeIsolating(sessions, [put(2, { ...doc, status: 'draft' })]);
    expect(failed.counts).toEqual({ inserted: 0, updated: 0, deleted: 0, stale: 0, filtered: 1 });
    expect(await stateVersion('p-1')).toBe('2');
    expect(await everyOutput()).toBe(0);

    const passed = await sut.writeIsolating(sessions, [put(3, doc)]);
    expect(passed.counts).toMatchObject({ updated: 1, filtered: 0 });
    expect(await everyOutput()).toBe(4);

    const created = await sut.writeIsolating(sessions, [put(1, { id: 'p-2', status: 'draft' })]);
    expect(created.counts).toMatchObject({ inserted: 0, filtered: 1 });
  });

  it('dead-letters only the entry with a value its column cannot take; its batch-mates land in every table', async () => {
    const bad = put(1, { id: 'i-bad', amountCents: 'abc' });
    const older = put(1, { id: 'i-2', userId: 'old' });

    const result = await sut.writeIsolating(sessions, [
      put(1, { id: 'i-1', userId: 'u' }),
      older,
      bad,
      put(2, { id: 'i-2', userId: 'u', screens: [{ position: 'x' }] }),
    ]);

    expect(result.rejected).toEqual([
      {
        entry: expect.objectContaining({ id: 'i-2', version: 2 }),
        reason:
          `rejected by the output mapping: collection ${schema}: table ${schema}.screens: ` +
          'column position (integer): cannot convert a string (not an integer)',
      },
      {
        entry: bad,
        reason:
          `rejected by the output mapping: collection ${schema}: table ${schema}.facts: ` +
          'column amount_cents (bigint): cannot convert a string (not an integer)',
      },
    ]);
    // i-2's older version was superseded in the batch by the refused one: stale, as when PostgreSQL refuses it
    expect(result.counts).toMatchObject({ inserted: 1, stale: 1 });
    expect(await stateVersion('i-bad')).toBeUndefined();
    expect(await stateVersion('i-2')).toBeUndefined();
    expect(await rowsOf('facts')).toEqual([expect.stringMatching(/^i-1 u @1$/)]);
  });

  it('isolates an entry PostgreSQL refuses in an output table; the state table does not take it either', async () => {
    await query(`ALTER TABLE "${schema}".screens ADD CONSTRAINT short_name CHECK (length(name) < 10)`);
    const refused = put(1, { id: 'c-bad', screens: [{ position: 1, name: 'far too long a name' }] });

    const result = await sut.writeIsolating(sessions, [put(1, { id: 'c-1' }), refused, put(1, { id: 'c-2' })]);

    expect(result.rejected).toEqual([
      { entry: refused, reason: expect.stringMatching(/^rejected by PostgreSQL: 23514/) },
    ]);
    expect(result.counts).toMatchObject({ inserted: 2 });
    expect(await stateVersion('c-bad')).toBeUndefined();
    expect(await stateVersion('c-1')).toBe('1');
  });

  it('leaves rows someone else stored under a new document to the version guard, and lands its batch-mates', async () => {
    // A new document's rows go in without a conflict check; a row already stored under its key (written by hand here)
    // makes the batch write again with every row upserted, so the older row is replaced and the newer one kept.
    await query(
      `INSERT INTO "${schema}".screens (session_id, position, name, spillway_version)
       VALUES ('n-1', 1, 'stored older', 1), ('n-2', 1, 'stored newer', 9)`,
    );
    const screens = [
      { position: 1, name: 'new' },
      { position: 2, name: 'two' },
    ];

    const result = await sut.writeIsolating(sessions, [
      put(2, { id: 'n-1', screens }),
      put(2, { id: 'n-2', screens }),
      put(2, { id: 'n-3', screens }),
    ]);

    expect(result).toEqual({ counts: expect.objectContaining({ inserted: 3 }), rejected: [] });
    expect(await rowsOf('screens')).toEqual([
      'n-1 1 new @2',
      'n-1 2 two @2',
      'n-2 1 stored newer @9',
      'n-2 2 two @2',
      'n-3 1 new @2',
      'n-3 2 two @2',
    ]);
  });

  it('sends text as it is: quotes, backslashes, braces, commas, spaces, NULL, empty strings, tabs and line breaks', async () => {
    // A new document's rows go by COPY, whose text format gives tabs, line breaks, backslashes and \N a meaning.
    const names = ['say "hi"', 'back\\slash', '{a,b}', ' padded ', 'NULL', '', 'null', 'é ✓ 😀', "it's"];
    names.push('tab\there', 'line\nbreak', 'cr\r\nlf', '\\N', '\\.', '\\', 'end\\');
    const screens = names.map((name, position) => ({ position, name }));

    await sut.writeIsolating(sessions, [put(1, { id: 'q "1"', userId: 'a\\"b', screens })]);

    const stored = await query<{ session_id: string; name: string | null }>(
      `SELECT session_id, name FROM "${schema}".screens ORDER BY position`,
    );
    expect(stored).toEqual(names.map((name) => ({ session_id: 'q "1"', name })));
    expect(await query(`SELECT user_id FROM "${schema}".facts`)).toEqual([{ user_id: 'a\\"b' }]);
  });

  it('writes the state table and every output in one transaction: a failing output statement rolls all back', async () => {
    await sut.writeIsolating(sessions, [put(1, { id: 'tx-1', userId: 'before' })]);
    await query(`DROP TABLE "${schema}".by_tenant`);

    await expect(sut.writeIsolating(sessions, [put(2, { id: 'tx-1', userId: 'after' })])).rejects.toMatchObject({
      code: '42P01',
    });

    expect(await stateVersion('tx-1')).toBe('1');
    expect(await rowsOf('facts')).toEqual([expect.stringMatching(/^tx-1 before @1$/)]);
  });

  it('writes composite keys, and moves a row whose key changed with the document (no orphan)', async () => {
    await sut.writeIsolating(sessions, [put(1, { id: 'k-1', tenant: 'a', userId: 'u' })]);

    await sut.writeIsolating(sessions, [put(2, { id: 'k-1', tenant: 'b', userId: 'u' })]);

    expect(await rowsOf('by_tenant')).toEqual(['b k-1 u @2']);
  });

  it('lets two replicas write the same documents at once; every output ends as the newest version projects', async () => {
    const other = createSpillwayDataSource({ url: database.url, poolSize: 1 });
    const otherWriter = new BatchWriter(new DatabaseService(other));
    const ids = Array.from({ length: 40 }, (_, i) => `r-${i}`);
    const doc = (id: string, version: number): Session => ({
      id,
      userId: `v${version}`,
      status: version % 5 === 0 ? 'draft' : 'active',
      screens: Array.from({ length: version % 4 }, (_, i) => ({ position: i, name: `v${version}` })),
    });
    try {
      for (let round = 0; round < 12; round++) {
        await Promise.all([
          sut.writeIsolating(
            sessions,
            ids.map((id) => put(2 * round + 1, doc(id, 2 * round + 1))),
          ),
          otherWriter.writeIsolating(
            sessions,
            [...ids].reverse().map((id) => put(2 * round + 2, doc(id, 2 * round + 2))),
          ),
        ]);
      }
    } finally {
      await other.destroy();
    }

    // version 24: active, no screens
    expect(new Set(await rowsOf('facts'))).toEqual(new Set(ids.map((id) => `${id} v24 active @24`)));
    expect(await rowsOf('screens')).toEqual([]);
    expect(await rowsOf('by_tenant')).toHaveLength(40);
  });

  it("removes a document's rows through the key's index before its table is first analyzed", async () => {
    // Without statistics the planner takes 200 distinct owners, so thousands of rows for each, and hash-joined a seq
    // scan of the whole table; a plan prepared while the table was empty kept doing so as it grew.
    const screens = sessions.outputs.find((o) => o.table === 'screens') as OutputTable;
    await query(
      `INSERT INTO "${schema}".screens (session_id, position, name, spillway_version)
       SELECT 'bulk-' || n / 5, n % 5, 'x', 1 FROM generate_series(0, 49999) AS n`,
    );
    await query(`DELETE FROM pg_statistic WHERE starelid = '"${schema}".screens'::regclass`);
    const client = new Client({ connectionString: database.url });
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    await client.connect();
    try {
      await client.query(`LOAD 'auto_explain'`);
      await client.query(`SET auto_explain.log_min_duration = 0`);
      await client.query(`SET auto_explain.log_level = notice`);
      // The planner is set by a statement of its own before removals alone, and by the rows statement before them;
      // each run in a transaction of its own, as the setting lasts until its end.
      const removalsOnly = new OutputWriteBuilder(screens, 'upsert');
      const withRows = new OutputWriteBuilder(screens, 'upsert');
      withRows.add([['other', 1, 'x']], 2);
      for (const write of [removalsOnly, withRows]) {
        for (let i = 0; i < 200; i++) write.remove({ id: `bulk-${i * 7}`, version: 2 });
      }
      for (let run = 0; run < 6; run++) {
        const write = run % 2 === 0 ? removalsOnly : withRows;
        await client.query('BEGIN');
        await postgresDialect.outputs.write(new PostgresSession(client), [write], 'rows-first');
        await client.query('ROLLBACK');
      }
    } finally {
      await client.end();
    }

    const removals = plans.filter((plan) => plan.includes('DELETE FROM'));
    expect(removals).toHaveLength(6);
    for (const removal of removals) {
      expect(removal).toMatch(/Nested Loop/);
      expect(removal).toMatch(/Index Scan using "PK_\w+" on screens t/);
      expect(removal).not.toMatch(/Seq Scan/);
    }
  });

  describe('an event collection', () => {
    let clicks: Collection;

    beforeEach(async () => {
      clicks = await collectionOf(`${schema}_clicks`, clicksFile(schema));
    });

    it('inserts each event once into each output, across redeliveries', async () => {
      const batch = [
        event('e-1', { screen: 'home' }),
        event('e-2', { screen: 'ignored' }),
        event('e-3', { screen: 'pay' }),
      ];

      const first = await sut.writeIsolating(clicks, batch);
      await query(`DELETE FROM "${schema}".click_facts WHERE id = 'e-1'`); // a row an operator removed stays removed
      const again = await sut.writeIsolating(clicks, [...batch, event('e-1', { screen: 'home' })]);

      expect(first.counts).toEqual({ inserted: 2, updated: 0, deleted: 0, stale: 0, filtered: 1 });
      expect(again.counts).toMatchObject({ inserted: 0, stale: 4, filtered: 0 });
      expect(await query(`SELECT id, screen, spillway_version::int AS v FROM "${schema}".click_facts`)).toEqual([
        { id: 'e-3', screen: 'pay', v: 1 },
      ]);
    });
  });
});
