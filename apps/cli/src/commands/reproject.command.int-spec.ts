import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { type Collection, loadCollections } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import {
  createSpillwayDataSource,
  DatabaseService,
  documentOutputWrites,
  mariadbDialect,
  postgresDialect,
  SchemaProvisioner,
  type SqlDialect,
  type WritableProjection,
} from '@app/persistence';
import { testServers } from '../../../../test/utils/servers';
import { reproject } from './reproject.command';

const root = join(__dirname, '..', '..', '..', '..');

interface Session {
  id: string;
  userId: string;
  status: string;
  screens: { position: unknown; name: string }[];
}

/** A sessions collection in `schema`; `facts` lists the mapped columns of session_facts beyond user_id. */
const sessionsFile = (schema: string, options: { facts?: string[]; filter?: string } = {}) => `
name: ${schema}
kind: document
table: ${schema}.sessions
${options.filter === undefined ? '' : `transform:\n  - uses: filter\n    with: { language: jmespath, expression: "${options.filter}" }\n`}output:
  - uses: relational.write
    with:
      schema: ${schema}
      table: session_facts
      keys: [id]
      mapping: [{ user_id: userId }${(options.facts ?? []).map((f) => `, ${f}`).join('')}]
      columns: { id: text, user_id: text${(options.facts ?? []).map((f) => `, ${f}: text`).join('')} }
  - uses: relational.write
    with:
      schema: ${schema}
      table: session_screens
      foreach: 'screen: screens[]'
      keys: [{ session_id: id }, { position: screen.position }]
      mapping: [{ name: screen.name }]
      columns: { session_id: text, position: integer, name: text }
  - uses: relational.write
    with:
      schema: ${schema}
      table: session_archive
      exclude_ops: [delete]
      keys: [id]
      mapping: [{ user_id: userId }]
      columns: { id: text, user_id: text }
`;

const servers = testServers();

/** What differs between the databases in this spec's own checks. */
interface DatabaseUnderTest {
  url: string;
  dialect: SqlDialect;
  /** Sets the position of the first screen of a document to a string, which no integer column takes. */
  breakFirstPosition: string;
  dropSchema: (schema: string) => string;
}

const DATABASES: [string, DatabaseUnderTest][] = [
  [
    'PostgreSQL',
    {
      url: servers.databaseUrl,
      dialect: postgresDialect,
      breakFirstPosition: `jsonb_set(doc, '{screens,0,position}', '"abc"')`,
      dropSchema: (schema) => `DROP SCHEMA IF EXISTS "${schema}" CASCADE`,
    },
  ],
  [
    'MariaDB',
    {
      url: servers.mariadbUrl,
      dialect: mariadbDialect,
      breakFirstPosition: `JSON_SET(doc, '$.screens[0].position', 'abc')`,
      dropSchema: (schema) => `DROP DATABASE IF EXISTS \`${schema}\``,
    },
  ],
];

/**
 * `spillway reproject` against the test PostgreSQL and MariaDB: a mapping change, deleted and filtered documents,
 * invalid ones, a sink's write path writing the same documents at the same time, and the command line end to end.
 *
 * Real: the databases, the collection files' loader and projector, the schema provisioner, the sink's state and
 * output writes (the dialect's, from @app/persistence). Mocked: nothing.
 */
describe.each(DATABASES)(
  `${reproject.name} on %s`,
  (_, { url: databaseUrl, dialect, breakFirstPosition, dropSchema }) => {
    let db: DataSource;
    let dir: string;
    let schema: string;
    let entryMs = 1_700_000_000_000;

    const query = <T>(sql: string, values: unknown[] = []) => db.query<T[]>(sql, values);
    /** Writes the collection file, provisions its tables as a sink does at start, returns the collection. */
    const fileAndTables = async (yaml: string): Promise<Collection> => {
      writeFileSync(join(dir, 'sessions.yaml'), yaml);
      const collections = loadCollections(dir);
      const sink = createSpillwayDataSource({ url: databaseUrl, poolSize: 2 });
      await new SchemaProvisioner(new DatabaseService(sink)).provision(collections);
      await sink.destroy();

      return collections[0] as Collection;
    };
    const put = (version: number, doc: Session): ChangeEntry => ({
      entryId: `${++entryMs}-0`,
      op: ChangeOp.PUT,
      id: doc.id,
      version,
      doc: JSON.stringify(doc),
      ingestedAt: entryMs,
    });
    const del = (id: string, version: number): ChangeEntry => ({
      entryId: `${++entryMs}-0`,
      op: ChangeOp.DELETE,
      id,
      version,
      doc: '',
      ingestedAt: entryMs,
    });
    const session = (id: string, version: number, status = 'active'): Session => ({
      id,
      userId: `u${version}`,
      status,
      screens: Array.from({ length: version % 4 }, (_, i) => ({ position: i, name: `${id}/${version}/${i}` })),
    });

    /**
     * The sink's write of a batch (BatchWriter.write without its metrics and splitting): the state table's write,
     * which locks the ids, then each output's rows and removals, in one transaction. Ids are distinct in a batch.
     */
    const sinkWrite = async (collection: Collection, entries: ChangeEntry[]): Promise<void> => {
      const puts = entries.filter((e) => e.op === ChangeOp.PUT);
      const deletes = entries.filter((e) => e.op === ChangeOp.DELETE);
      const runner = db.createQueryRunner();
      try {
        const session = await dialect.session(runner);
        await runner.startTransaction();
        const { rows } = await dialect.state.writeDocuments(session, collection, { puts, deletes }, { withIds: true });
        const applied = puts
          .filter((e) => rows?.has(e.id))
          .map((entry) => ({
            entry,
            projection: collection.projector?.project(JSON.parse(entry.doc)) as WritableProjection,
            createdState: rows?.get(entry.id),
          }));
        await dialect.outputs.write(session, documentOutputWrites(collection.outputs, applied, deletes), 'rows-first');
        await runner.commitTransaction();
      } catch (error) {
        await runner.rollbackTransaction();
        throw error;
      } finally {
        await runner.release();
      }
    };

    const line = (values: readonly unknown[], version: unknown) =>
      `${values.map((v) => (v === null ? '∅' : String(v as string | number))).join(' ')} @${String(version)}`;
    /** Every output's rows as `column values… @version` lines, sorted, NULL as ∅. */
    const tableLines = async (collection: Collection) => {
      const tables: Record<string, string[]> = {};
      for (const output of collection.outputs) {
        const rows = await query<Record<string, unknown>>(
          `SELECT * FROM ${dialect.qualifiedTable(schema, output.table)}`,
        );
        tables[output.table] = rows
          .map((row) =>
            line(
              output.columns.map((c) => row[c.name]),
              row.spillway_version,
            ),
          )
          .sort();
      }

      return tables;
    };
    /** What the outputs hold when they equal the projection of the state table (exclude_ops aside). */
    const projectedLines = async (collection: Collection) => {
      const tables: Record<string, string[]> = Object.fromEntries(collection.outputs.map((o) => [o.table, []]));
      const state = await query<{ version: string; doc: unknown }>(
        `SELECT version, doc FROM ${dialect.qualifiedTable(schema, 'sessions')}`,
      );
      for (const { version, doc } of state) {
        // mysql2 gives MariaDB's JSON columns as text or parsed, as its version has it.
        const projection = collection.projector?.project(typeof doc === 'string' ? JSON.parse(doc) : doc);
        if (projection?.kind === 'rows') {
          collection.outputs.forEach((output, i) => {
            for (const row of projection.rows[i] ?? []) {
              tables[output.table]?.push(line(row, version));
            }
          });
        }
      }
      Object.values(tables).forEach((lines) => lines.sort());

      return tables;
    };
    const run = (batchSize = 500) => {
      const notes: string[] = [];
      const printed: string[] = [];
      const counts = reproject(
        { name: schema, dir, targets: [{ name: 'default', url: databaseUrl }], batchSize, progress: false },
        (line) => printed.push(line),
        (line) => notes.push(line),
      );

      return counts.then((byConnection) => ({ counts: byConnection.get('default'), printed, notes }));
    };

    beforeAll(async () => {
      db = createSpillwayDataSource({ url: databaseUrl, poolSize: 4 });
      await db.initialize();
      await db.runMigrations({ transaction: 'all' });
    });

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'spillway-reproject-'));
      schema = `t_${randomBytes(4).toString('hex')}`;
    });

    afterEach(async () => {
      rmSync(dir, { recursive: true, force: true });
      await db.query(dropSchema(schema));
    });

    afterAll(async () => {
      await db?.destroy();
    });

    it('gives every row the value of a column added to the file, and rewrites rows at the same version', async () => {
      const before = await fileAndTables(sessionsFile(schema));
      await sinkWrite(before, [put(2, session('s-1', 2)), put(3, session('s-2', 3, 'idle'))]);
      const after = await fileAndTables(sessionsFile(schema, { facts: ['status'] }));

      expect((await tableLines(after)).session_facts).toEqual(['s-1 u2 ∅ @2', 's-2 u3 ∅ @3']);

      const { counts, printed } = await run(1);

      expect((await tableLines(after)).session_facts).toEqual(['s-1 u2 active @2', 's-2 u3 idle @3']);
      expect(await tableLines(after)).toEqual(await projectedLines(after));
      expect(counts).toMatchObject({ documents: 2, filtered: 0, invalid: 0, orphanRows: 0 });
      expect(printed).toEqual([
        expect.stringMatching(
          new RegExp(
            `^reprojected ${schema}: 2 documents, 9 rows in 3 tables \\(${schema}.session_facts 2, ` +
              `${schema}.session_screens 5, ${schema}.session_archive 2\\), 0 filtered, 0 invalid, \\d+\\.\\d s$`,
          ),
        ),
      ]);
    });

    it('removes the rows of deleted and filtered documents, keeps those exclude_ops keeps, skips invalid ones', async () => {
      const before = await fileAndTables(sessionsFile(schema));
      await sinkWrite(before, [
        put(1, session('keep', 1)),
        put(2, session('gone', 2)),
        put(3, session('closed', 3, 'closed')),
        put(1, session('bad', 1)),
      ]);
      await sinkWrite(before, [del('deleted', 1)]);
      // Deleted before reproject: its state row is gone but its rows stayed (as when the outputs came later).
      await query(`DELETE FROM ${dialect.qualifiedTable(schema, 'sessions')} WHERE id = 'gone'`);
      // A document whose projection is now invalid: its rows stay as they are.
      await query(
        `UPDATE ${dialect.qualifiedTable(schema, 'sessions')} SET doc = ${breakFirstPosition} WHERE id = 'bad'`,
      );
      const after = await fileAndTables(sessionsFile(schema, { filter: "status != 'closed'" }));

      const { counts, notes } = await run(2);

      expect(await tableLines(after)).toEqual({
        session_facts: ['bad u1 @1', 'keep u1 @1'],
        session_screens: ['bad 0 bad/1/0 @1', 'keep 0 keep/1/0 @1'],
        session_archive: ['bad u1 @1', 'gone u2 @2', 'keep u1 @1'],
      });
      expect(counts).toMatchObject({ documents: 2, filtered: 1, invalid: 1, orphanRows: 3 });
      expect(notes).toEqual([expect.stringMatching(/^invalid: t_\w+ bad: .*session_screens.*position.*integer/)]);
    });

    it('ends with every output equal to the projection of the final state while a sink writes the same documents', async () => {
      const before = await fileAndTables(sessionsFile(schema));
      const ids = Array.from({ length: 300 }, (_, i) => `s-${String(i).padStart(3, '0')}`);
      const versions = new Map(ids.map((id) => [id, 1]));
      await sinkWrite(
        before,
        ids.map((id) => put(1, session(id, 1))),
      );
      const after = await fileAndTables(sessionsFile(schema, { facts: ['status'] }));
      let writing = true;
      let batches = 0;
      const writer = (async () => {
        while (writing || batches < 20) {
          const batch = [...new Set(Array.from({ length: 25 }, () => ids[Math.floor(Math.random() * ids.length)]))];
          const entries = batch.flatMap((id) => {
            if (id === undefined) {
              return [];
            }
            const version = (versions.get(id) ?? 1) + 1;
            versions.set(id, version);

            return version % 7 === 0
              ? [del(id, version)]
              : [put(version, session(id, version, version % 5 === 0 ? 'idle' : 'active'))];
          });
          await sinkWrite(after, entries);
          batches += 1;
        }
      })();

      const { counts } = await run(10).finally(() => {
        writing = false;
      });
      await writer;

      expect(batches).toBeGreaterThanOrEqual(20);
      expect(counts?.invalid).toBe(0);
      const lines = await tableLines(after);
      const projected = await projectedLines(after);
      expect(lines.session_facts).toEqual(projected.session_facts);
      expect(lines.session_screens).toEqual(projected.session_screens);
    });

    describe('the command line', () => {
      const cli = (args: string[], env: Record<string, string> = {}) => {
        const result = spawnSync(
          process.execPath,
          [require.resolve('tsx/cli'), 'apps/cli/src/main.ts', 'reproject', ...args],
          {
            cwd: root,
            env: { ...process.env, COLLECTIONS_DIR: dir, DATABASE_URL: databaseUrl, ...env },
            encoding: 'utf8',
            timeout: 60_000,
          },
        );

        return { status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
      };

      it('prints the summary and exits 0', async () => {
        const collection = await fileAndTables(sessionsFile(schema));
        await sinkWrite(collection, [put(2, session('s-1', 2)), put(5, session('s-2', 5))]);

        const result = cli([schema]);

        expect(result).toMatchObject({ status: 0, stderr: '' });
        expect(result.stdout).toMatch(
          new RegExp(
            `^reprojected ${schema}: 2 documents, 7 rows in 3 tables \\(${schema}.session_facts 2, ` +
              `${schema}.session_screens 3, ${schema}.session_archive 2\\), 0 filtered, 0 invalid, \\d+\\.\\d s$`,
          ),
        );
      });

      it('exits 1 with one line for an unknown collection, one without outputs, a schema a sink has not made', () => {
        writeFileSync(join(dir, 'sessions.yaml'), sessionsFile(schema));
        writeFileSync(join(dir, 'plain.yaml'), `name: ${schema}_plain\nkind: document\ntable: ${schema}.plain\n`);

        expect(cli(['nope'])).toMatchObject({
          status: 1,
          stderr: `spillway: unknown collection "nope" in ${dir} (known: ${schema}_plain, ${schema})`,
        });
        expect(cli([`${schema}_plain`])).toMatchObject({
          status: 1,
          stderr: `spillway: collection ${schema}_plain has no outputs (${join(dir, 'plain.yaml')} has no "output"): nothing to do`,
        });
        expect(cli([schema])).toMatchObject({
          status: 1,
          stderr: expect.stringMatching(
            /^spillway: the schema of t_\w+ is not up to date \(\d+ statements are pending for .*\): start a sink .*spillway plan/,
          ) as string,
        });
      });

      it('exits 1 with one line when the database cannot be reached', () => {
        writeFileSync(join(dir, 'sessions.yaml'), sessionsFile(schema));

        const unreachable = new URL(databaseUrl);
        unreachable.port = '1';
        const result = cli([schema], { DATABASE_URL: unreachable.toString() });

        expect(result.status).toBe(1);
        expect(result.stderr).toMatch(/^spillway: .*ECONNREFUSED/);
      });
    });
  },
);
