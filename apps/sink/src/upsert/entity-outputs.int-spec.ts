import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { type Collection, loadCollections, loadEntityModules } from '@app/collections';
import { type ChangeEntry, ChangeOp } from '@app/contracts';
import { createSpillwayDataSource, DatabaseService, SchemaProvisioner } from '@app/persistence';
import { scratchPostgresDatabase } from '../../../../test/utils/scratch-database';
import { testServers } from '../../../../test/utils/servers';
import { BatchWriter } from './batch-writer';

/**
 * Outputs that name a user's TypeORM entity (SINK_ENTITIES), against a real PostgreSQL: plain JavaScript modules (an
 * EntitySchema, and a class decorated by calling TypeORM's decorators as functions) loaded from a folder, their tables
 * made by the schema provisioner and filled by the batch writer.
 *
 * Real: PostgreSQL, the modules' loading, the loader and projector, the provisioner, the writer. Mocked: nothing.
 */

/** The typeorm package the modules require, by its absolute path: they live in a temporary folder. */
const typeorm = JSON.stringify(require.resolve('typeorm'));

/** An EntitySchema in `schema`, with camelCase column names and a version column of its own. */
const schemaModule = (schema: string) => `
const { EntitySchema } = require(${typeorm});
exports.SessionFact = new EntitySchema({
  name: 'SessionFact',
  tableName: 'session_facts',
  schema: '${schema}',
  columns: {
    id: { type: 'varchar', primary: true },
    userId: { type: 'varchar', nullable: true },
    amount: { type: 'decimal', nullable: true },
    startedAt: { type: 'timestamp with time zone', name: 'started_at', nullable: true },
    spillway_version: { type: 'int8' },
  },
});
`;

/** A class decorated as TypeScript would compile it, without a version column (Spillway adds it). */
const classModule = (schema: string) => `
const { Entity, PrimaryColumn, Column } = require(${typeorm});
class SessionScreen {}
Entity({ name: 'session_screens', schema: '${schema}' })(SessionScreen);
PrimaryColumn({ type: 'text', name: 'session_id' })(SessionScreen.prototype, 'sessionId');
PrimaryColumn({ type: 'int4' })(SessionScreen.prototype, 'position');
Column({ type: 'float8', nullable: true })(SessionScreen.prototype, 'seconds');
exports.SessionScreen = SessionScreen;
`;

const collectionFile = (schema: string) => `
name: ${schema}
kind: document
table: ${schema}.sessions
output:
  - uses: relational.write
    with:
      entity: SessionFact
      mapping: [{ startedAt: started }]
  - uses: relational.write
    with:
      entity: SessionScreen
      foreach: "screen: screens[]"
      mapping: [{ sessionId: id }, { position: screen.position }, { seconds: screen.seconds }]
`;

describe('BatchWriter with outputs that name an entity', () => {
  const database = scratchPostgresDatabase(testServers().databaseUrl, 'spillway_entities');
  const schema = `e_${randomBytes(4).toString('hex')}`;
  let dataSource: DataSource;
  let folder: string;
  let collection: Collection;
  let entryMs = 1_700_000_000_000;

  const put = (version: number, doc: { id: string } & Record<string, unknown>): ChangeEntry => {
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

  beforeAll(async () => {
    await database.create();
    dataSource = createSpillwayDataSource({ url: database.url, poolSize: 2 });
    folder = mkdtempSync(join(tmpdir(), 'spillway-entities-'));
    writeFileSync(join(folder, 'facts.js'), schemaModule(schema));
    writeFileSync(join(folder, 'screens.js'), classModule(schema));
    writeFileSync(join(folder, 'sessions.yaml'), collectionFile(schema));
    // SINK_ENTITIES paths are resolved from the working directory, here the folder.
    const entities = loadEntityModules(['facts.js', 'screens.js'], folder);
    [collection] = loadCollections(folder, { entities }) as [Collection];
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await database.drop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('creates the tables from the entities, then writes a batch into them under the version guard', async () => {
    const service = new DatabaseService(dataSource);
    await new SchemaProvisioner(service).provision([collection]);
    const sut = new BatchWriter(service);

    const screens = [
      { position: 1, seconds: 2.5 },
      { position: 2, seconds: 4 },
    ];
    await sut.writeIsolating(collection, [
      put(2, { id: 's1', userId: 'u1', amount: '12.50', started: '2024-05-01T10:00:00Z', screens }),
      put(1, { id: 's2' }),
    ]);
    await sut.writeIsolating(collection, [put(1, { id: 's1', userId: 'late' })]);

    const columns = await dataSource.query<{ table_name: string; column_name: string; data_type: string }[]>(
      `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1
        ORDER BY table_name, ordinal_position`,
      [schema],
    );
    expect(
      columns.filter((c) => c.table_name !== 'sessions').map((c) => `${c.table_name}.${c.column_name} ${c.data_type}`),
    ).toEqual([
      'session_facts.id text',
      'session_facts.userId text',
      'session_facts.amount numeric',
      'session_facts.started_at timestamp with time zone',
      'session_facts.spillway_version bigint',
      'session_screens.session_id text',
      'session_screens.position integer',
      'session_screens.seconds double precision',
      'session_screens.spillway_version bigint',
    ]);
    expect(
      await dataSource.query(
        `SELECT id, "userId", amount::text, started_at, spillway_version::int FROM "${schema}".session_facts ORDER BY id`,
      ),
    ).toEqual([
      { id: 's1', userId: 'u1', amount: '12.50', started_at: new Date('2024-05-01T10:00:00Z'), spillway_version: 2 },
      { id: 's2', userId: null, amount: null, started_at: null, spillway_version: 1 },
    ]);
    expect(
      await dataSource.query(`SELECT session_id, position, seconds FROM "${schema}".session_screens ORDER BY position`),
    ).toEqual([
      { session_id: 's1', position: 1, seconds: 2.5 },
      { session_id: 's1', position: 2, seconds: 4 },
    ]);
    // A second start plans nothing: the entities describe the tables as they are.
    await new SchemaProvisioner(service).provision([collection]);
  });
});
