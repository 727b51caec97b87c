import type { OutputRow, OutputTable } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import {
  type AppliedChange,
  documentOutputWrites,
  type OutputWrite,
  OutputWriteBuilder,
  type OutputWriteMode,
  reprojectionWrites,
} from '@app/persistence';
import { testServers } from '../../../../../test/utils/servers';
import { CountingSession, outputTable, ScratchDatabase } from './output-tables.fixture';
import { mariadbOutputWrites as sut } from './output-table-writes';

/**
 * mariadbOutputWrites against the test MariaDB: values of every column type, the version guard, foreach rows
 * replaced and removed (a sink's batch, rows first; a reprojection, removals first), events inserted once, owner
 * columns of type integer, bigint and uuid, and batches larger than one statement takes.
 *
 * Real: MariaDB (tables made by output-tables.fixture.ts), TypeORM's mysql2 pool, MariadbSession. Mocked: nothing.
 */
describe('mariadbOutputWrites', () => {
  let db: ScratchDatabase;

  beforeAll(async () => {
    db = await ScratchDatabase.create(testServers().mariadbUrl);
  });

  afterAll(async () => {
    await db.close();
  });

  const change = (id: string, version: number, op = ChangeOp.PUT): ChangeEntry => ({
    entryId: `${version}-0`,
    op,
    id,
    version,
    doc: '',
    ingestedAt: 0,
  });

  /** One output's write: rows of documents at versions, removals of documents below versions. */
  const writeOf = (
    output: OutputTable,
    mode: OutputWriteMode,
    rows: readonly [OutputRow, number][],
    removals: readonly [string, number][] = [],
  ): OutputWrite => {
    const builder = new OutputWriteBuilder(output, mode);
    rows.forEach(([row, version]) => builder.add([row], version));
    removals.forEach(([id, version]) => builder.remove({ id, version }));

    return builder;
  };

  const write = (writes: readonly OutputWrite[], order: 'rows-first' | 'removals-first' = 'rows-first') =>
    db.transaction((session) => sut.write(session, writes, order));

  const applied = (id: string, version: number, rows: OutputRow[], createdState = false): AppliedChange => ({
    entry: change(id, version),
    projection: { kind: 'rows', rows: [rows] },
    createdState,
  });

  it('writes a value of every column type as MariaDB holds it', async () => {
    const typed = outputTable(db.name, 'typed', {
      'id*': 'text',
      t: 'text',
      i: 'integer',
      b: 'bigint',
      n: 'numeric',
      d: 'double',
      f: 'boolean',
      ts: 'timestamptz',
      dt: 'date',
      u: 'uuid',
      j: 'jsonb',
    });
    await db.createTables([typed]);
    // Values as column-conversions.ts makes them from JSON.
    const rows: OutputRow[] = [
      [
        'a',
        `héllo 🌍 '"\\ \n%?`,
        2147483647,
        '9223372036854775807',
        '12.50',
        0.1,
        true,
        '2024-05-01T10:20:30.5+02:00',
        '2024-05-01',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        '{"a":[1,"x",null],"b":"é"}',
      ],
      [
        'b',
        '',
        -2147483648,
        '-9223372036854775808',
        '-.5',
        -1.5e300,
        false,
        '1970-01-01T00:00:00.000Z',
        '0001-01-01',
        '00000000-0000-0000-0000-000000000000',
        '"text"',
      ],
      ['c', 'x', 0, '0', '1.5e-7', 5e-324, false, '1999-12-31 23:30:00.123456-05:30', '9999-12-31', null, 'null'],
      ['d', null, null, null, null, null, null, null, null, null, null],
    ];

    await write([
      writeOf(
        typed,
        'upsert',
        rows.map((row) => [row, 7]),
      ),
    ]);

    expect(await db.rowsOf(typed)).toEqual([
      {
        id: 'a',
        t: `héllo 🌍 '"\\ \n%?`,
        i: 2147483647,
        b: '9223372036854775807',
        n: '12.500000000000000000000000000000',
        d: 0.1,
        f: 1,
        ts: '2024-05-01 08:20:30.500000',
        dt: '2024-05-01',
        u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        j: '{"a":[1,"x",null],"b":"é"}',
        spillway_version: '7',
      },
      {
        id: 'b',
        t: '',
        i: -2147483648,
        b: '-9223372036854775808',
        n: '-0.500000000000000000000000000000',
        d: -1.5e300,
        f: 0,
        ts: '1970-01-01 00:00:00.000000',
        dt: '0001-01-01',
        u: '00000000-0000-0000-0000-000000000000',
        j: '"text"',
        spillway_version: '7',
      },
      {
        id: 'c',
        t: 'x',
        i: 0,
        b: '0',
        n: '0.000000150000000000000000000000',
        d: 5e-324,
        f: 0,
        ts: '2000-01-01 05:00:00.123456',
        dt: '9999-12-31',
        u: null,
        j: null,
        spillway_version: '7',
      },
      {
        id: 'd',
        ...Object.fromEntries(['t', 'i', 'b', 'n', 'd', 'f', 'ts', 'dt', 'u', 'j'].map((c) => [c, null])),
        spillway_version: '7',
      },
    ]);
  });

  it('updates every column of a stored row from a newer version only: an older or equal one changes nothing', async () => {
    const facts = outputTable(db.name, 'guarded', { 'id*': 'text', status: 'text', n: 'integer' });
    await db.createTables([facts]);
    const state = async () => (await db.rowsOf(facts)).map((r) => [r.id, r.status, r.n, r.spillway_version]);

    await write([writeOf(facts, 'upsert', [[['a', 'two', 2], 2]])]);
    await write([writeOf(facts, 'upsert', [[['a', 'one', 1], 1]])]);
    await write([writeOf(facts, 'upsert', [[['a', 'two again', 22], 2]])]);

    expect(await state()).toEqual([['a', 'two', 2, '2']]);

    await write([writeOf(facts, 'upsert', [[['a', 'three', 3], 3]])]);

    expect(await state()).toEqual([['a', 'three', 3, '3']]);
  });

  it("replaces a foreach output's rows on a newer version and removes them on a delete, rows first (a sink)", async () => {
    const screens = outputTable(
      db.name,
      'screens',
      { 'session_id*': 'text', 'position*': 'integer', name: 'text' },
      { isForeach: true },
    );
    await db.createTables([screens]);
    const state = async () => (await db.rowsOf(screens)).map((r) => [r.session_id, r.position, r.name]);
    const batch = (puts: AppliedChange[], deletes: ChangeEntry[] = []) =>
      write(documentOutputWrites([screens], puts, deletes), 'rows-first');

    await batch([
      applied(
        'a',
        1,
        [
          ['a', 1, 'x'],
          ['a', 2, 'y'],
          ['a', 3, 'z'],
        ],
        true,
      ),
      applied('b', 1, [['b', 1, 'keep']], true),
    ]);
    await batch([
      applied('a', 2, [
        ['a', 1, 'x2'],
        ['a', 3, 'z'],
      ]),
    ]);

    expect(await state()).toEqual([
      ['a', 1, 'x2'],
      ['a', 3, 'z'],
      ['b', 1, 'keep'],
    ]);

    await batch([], [change('a', 3, ChangeOp.DELETE), change('b', 1, ChangeOp.DELETE)]);

    expect(await state()).toEqual([['b', 1, 'keep']]);
  });

  it("rewrites a document's rows at its own version, removals first (a reprojection), leaving newer rows", async () => {
    const screens = outputTable(
      db.name,
      'reprojected',
      { 'session_id*': 'text', 'position*': 'integer', name: 'text' },
      { isForeach: true },
    );
    await db.createTables([screens]);
    await write([
      writeOf(screens, 'upsert', [
        [['a', 1, 'old'], 2],
        [['a', 2, 'gone'], 2],
        [['b', 1, 'newer'], 3],
      ]),
    ]);

    const writes = reprojectionWrites(
      [screens],
      [
        {
          id: 'a',
          version: 2,
          projection: {
            kind: 'rows',
            rows: [
              [
                ['a', 1, 'new'],
                ['a', 5, 'added'],
              ],
            ],
          },
        },
        { id: 'b', version: 2, projection: { kind: 'rows', rows: [[['b', 1, 'stale']]] } },
      ],
      'upsert',
    );
    await write(writes, 'removals-first');

    expect((await db.rowsOf(screens)).map((r) => [r.session_id, r.position, r.name, r.spillway_version])).toEqual([
      ['a', 1, 'new', '2'],
      ['a', 5, 'added', '2'],
      ['b', 1, 'newer', '3'],
    ]);
  });

  it('inserts an event row once: a stored key keeps its values', async () => {
    const clicks = outputTable(db.name, 'clicks', { 'id*': 'text', target: 'text' });
    await db.createTables([clicks]);

    await write([writeOf(clicks, 'insert-once', [[['e1', 'first'], 1]])]);
    await write([
      writeOf(clicks, 'insert-once', [
        [['e1', 'again'], 1],
        [['e2', 'second'], 1],
      ]),
    ]);
    await write([writeOf(clicks, 'insert-once', [[['e2', 'reprojected'], 1]])], 'removals-first');

    expect((await db.rowsOf(clicks)).map((r) => [r.id, r.target])).toEqual([
      ['e1', 'first'],
      ['e2', 'second'],
    ]);
  });

  it('finds the rows of a document by an integer owner column, exactly past 2^53', async () => {
    const items = outputTable(db.name, 'by_number', { 'doc*': 'bigint', 'pos*': 'integer' }, { isForeach: true });
    await db.createTables([items]);
    await write([
      writeOf(items, 'upsert', [
        [['42', 1], 1],
        [['42', 2], 1],
        [['7', 1], 1],
        [['9007199254740992', 1], 1],
        [['9007199254740993', 1], 1],
      ]),
    ]);

    await write([
      writeOf(
        items,
        'upsert',
        [],
        [
          ['042', 2],
          ['+9007199254740993', 2],
          ['not a number', 2],
        ],
      ),
    ]);

    expect((await db.rowsOf(items)).map((r) => [r.doc, r.pos])).toEqual([
      ['7', 1],
      ['9007199254740992', 1],
    ]);
  });

  it('finds the rows of a document by a uuid owner column, in any spelling of the uuid', async () => {
    const items = outputTable(db.name, 'by_uuid', { 'doc*': 'uuid', 'pos*': 'integer' }, { isForeach: true });
    await db.createTables([items]);
    const [a, b] = ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'];
    await write([
      writeOf(items, 'upsert', [
        [[a, 1], 1],
        [[a, 2], 1],
        [[b, 1], 1],
      ]),
    ]);

    await write([writeOf(items, 'upsert', [], [[a.toUpperCase().replace(/-/g, ''), 2]])]);

    expect((await db.rowsOf(items)).map((r) => [r.doc, r.pos])).toEqual([[b, 1]]);
  });

  it('splits a batch that binds more than 65,535 values into statements, keeping every row', async () => {
    const wide = outputTable(db.name, 'wide', {
      'id*': 'text',
      'pos*': 'integer',
      ...Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`c${i}`, 'text' as const])),
    });
    await db.createTables([wide]);
    // 11 values a row (10 columns and the version): 5,957 rows a statement.
    const rows = Array.from({ length: 13_000 }, (_, i): [OutputRow, number] => [
      [`d${i % 1000}`, Math.floor(i / 1000), ...Array.from({ length: 8 }, (__, c) => `v${c}`)],
      1,
    ]);
    const session = new CountingSession(await db.session());

    await sut.write(session, [writeOf(wide, 'upsert', rows)], 'rows-first');

    expect(session.statements.filter((s) => s.startsWith('INSERT'))).toHaveLength(3);
    const [[count]] = (await db.reader.query({ sql: `SELECT COUNT(*) FROM ${db.name}.wide`, rowsAsArray: true })) as [
      unknown[][],
      unknown,
    ];
    expect(Number(count)).toBe(13_000);

    // 2 values a removal: 32,767 a statement.
    const removals = Array.from({ length: 33_000 }, (_, i): [string, number] => [`d${i}`, 2]);
    session.statements.length = 0;

    await sut.write(session, [writeOf(wide, 'upsert', [], removals)], 'rows-first');

    expect(session.statements.filter((s) => s.startsWith('DELETE'))).toHaveLength(2);
    expect(await db.rowsOf(wide)).toEqual([]);
  });

  it("writes a sink's batch of 500 documents with 5 child rows each in a few statements", async () => {
    const facts = outputTable(db.name, 'bench_facts', {
      'id*': 'text',
      status: 'text',
      amount: 'numeric',
      started_at: 'timestamptz',
    });
    const screens = outputTable(
      db.name,
      'bench_screens',
      { 'session_id*': 'text', 'position*': 'integer', name: 'text', seen_at: 'timestamptz', n: 'integer' },
      { isForeach: true },
    );
    await db.createTables([facts, screens]);
    const ids = Array.from({ length: 500 }, (_, i) => `session-${String(i).padStart(6, '0')}`);
    const batch = (version: number): OutputWrite[] =>
      documentOutputWrites(
        [facts, screens],
        ids.map((id) => ({
          entry: change(id, version),
          projection: {
            kind: 'rows',
            rows: [
              [[id, `status ${version}`, `${version}.25`, '2024-05-01T10:20:30.123+02:00']],
              Array.from({ length: 5 }, (_, p): OutputRow => [id, p, `screen ${p}`, '2024-05-01T10:20:30Z', version]),
            ],
          },
          createdState: version === 1,
        })),
        [],
      );
    const timed = async (version: number): Promise<{ ms: number; statements: number }> => {
      const writes = batch(version);
      const started = performance.now();
      const statements = await db.transaction(async (session) => {
        const counting = new CountingSession(session);
        await sut.write(counting, writes, 'rows-first');

        return counting.statements.length;
      });

      return { ms: performance.now() - started, statements };
    };
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

    const created = await timed(1);
    const updates = [];
    for (let version = 2; version <= 6; version += 1) {
      updates.push(await timed(version));
    }

    expect(created.statements).toBe(2);
    expect(updates.map((u) => u.statements)).toEqual([3, 3, 3, 3, 3]);
    expect(await db.rowsOf(screens)).toHaveLength(2500);
    expect(new Set((await db.rowsOf(screens)).map((r) => r.spillway_version))).toEqual(new Set(['6']));
    console.log(
      `mariadbOutputWrites: 500 documents x (1 + 5 foreach rows), transaction included: new ${created.ms.toFixed(1)} ms ` +
        `(2 statements); newer versions median ${median(updates.map((u) => u.ms)).toFixed(1)} ms ` +
        `(${updates.map((u) => u.ms.toFixed(1)).join(', ')}; 3 statements: 2 upserts, 1 removal)`,
    );
  });

  it("splits a batch larger than the server's packet into statements, keeping every row", async () => {
    const big = outputTable(db.name, 'big', { 'id*': 'text', body: 'text' });
    await db.createTables([big]);
    const body = 'x'.repeat(512 * 1024);
    const rows = Array.from({ length: 40 }, (_, i): [OutputRow, number] => [[`d${i}`, `${i}${body}`], 1]);
    const session = new CountingSession(await db.session());

    await sut.write(session, [writeOf(big, 'upsert', rows)], 'rows-first');

    // Each row counts 1 MiB (its text, escaped at worst), the statement at most 16 MiB.
    expect(session.statements.filter((s) => s.startsWith('INSERT')).length).toBeGreaterThanOrEqual(3);
    const [stored] = (await db.reader.query(`SELECT id, LENGTH(body) AS bytes FROM ${db.name}.big`)) as [
      { id: string; bytes: number }[],
      unknown,
    ];
    expect(stored).toHaveLength(40);
    expect(stored.every((r) => r.bytes === body.length + String(r.id.slice(1)).length)).toBe(true);
  });
});
