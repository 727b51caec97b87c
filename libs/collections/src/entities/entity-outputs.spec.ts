import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Column, Entity, EntitySchema, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { checkCollectionFiles, loadCollections } from '../collections.loader';
import { EntityCatalog, loadEntityModules } from './entity-catalog';
import { describeEntityClass, describeEntitySchema } from './user-entity';

@Entity('session_facts')
class SessionFact {
  @PrimaryColumn({ type: 'varchar' })
  id!: string;

  @Column({ type: 'varchar', name: 'user_id', nullable: true })
  userId!: string | null;

  @Column({ type: 'int4' })
  visits!: number;

  @Column({ type: 'decimal' })
  amount!: string;

  @Column({ type: 'timestamp with time zone' })
  startedAt!: Date;

  @Column({ type: 'json' })
  extra!: unknown;

  @Column({ type: 'int8' })
  spillway_version!: string;
}

@Entity()
class SessionScreen {
  @PrimaryColumn({ type: 'text', name: 'session_id' })
  sessionId!: string;

  @PrimaryColumn({ type: 'integer' })
  position!: number;

  @Column({ type: 'float8' })
  seconds!: number;
}

@Entity()
class Dated {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'timestamp' })
  at!: Date;
}

@Entity()
class Generated {
  @PrimaryGeneratedColumn()
  seq!: number;

  @Column({ type: 'text' })
  id!: string;
}

const ScreenView = new EntitySchema<{ id: string; day: string; ok: boolean; ref: string }>({
  name: 'ScreenView',
  tableName: 'screen_views',
  schema: 'analytics',
  columns: {
    id: { type: 'text', primary: true },
    day: { type: 'date', primary: true },
    ok: { type: 'bool', nullable: true },
    ref: { type: 'uuid', name: 'ref_id' },
  },
});

const catalog = new EntityCatalog(
  ['entities.js'],
  [
    describeEntityClass(SessionFact, 'entities.js'),
    describeEntityClass(SessionScreen, 'entities.js'),
    describeEntityClass(Dated, 'entities.js'),
    describeEntityClass(Generated, 'entities.js'),
    describeEntitySchema(ScreenView, 'entities.js'),
  ],
);

describe('outputs that name an entity', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'entity-outputs-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A document collection `a` whose outputs are the given `with` objects (as YAML flow maps). */
  const file = (...outputs: string[]) =>
    writeFileSync(
      join(dir, 'a.yaml'),
      'name: a\nkind: document\noutput:\n' +
        outputs.map((w) => `  - uses: relational.write\n    with: ${w}\n`).join(''),
    );
  const problems = (entities: EntityCatalog | undefined = catalog) =>
    checkCollectionFiles(dir, { entities }).problems.map((p) => `${p.path}: ${p.reason}`);

  it('turns a decorated class into an output table: TypeORM column names and types, keys first, its version column', () => {
    file('{ entity: SessionFact, mapping: [{ startedAt: started.at }] }');

    const [collection] = loadCollections(dir, { entities: catalog });

    expect(collection?.outputs).toEqual([
      {
        source: `${join(dir, 'a.yaml')}: output[0] (entity SessionFact of entities.js)`,
        schema: 'public',
        table: 'session_facts',
        columns: [
          { name: 'id', type: 'text', isKey: true },
          { name: 'user_id', type: 'text', isKey: false },
          { name: 'visits', type: 'integer', isKey: false },
          { name: 'amount', type: 'numeric', isKey: false },
          { name: 'startedAt', type: 'timestamptz', isKey: false },
          { name: 'extra', type: 'jsonb', isKey: false },
        ],
        versionColumn: 'spillway_version',
        ownerColumns: ['id'],
        isForeach: false,
        excludeOps: [],
        connection: 'default',
      },
    ]);
    // Properties read the field of their name, unless mapped.
    const doc = { id: 's1', userId: 'u1', visits: '3', amount: 1.5, started: { at: 0 }, extra: { a: 1 } };
    expect(collection?.projector?.project(doc)).toEqual({
      kind: 'rows',
      rows: [[['s1', 'u1', 3, '1.5', '1970-01-01T00:00:00.000Z', '{"a":1}']]],
    });
  });

  it('turns an EntitySchema into an output table in its schema, and takes foreach and a mapped owner', () => {
    file(
      '{ entity: ScreenView, mapping: [{ ref: ref }] }',
      '{ entity: SessionScreen, foreach: "s: screens[]", mapping: [{ sessionId: id }, { position: s.position }, { seconds: s.seconds }] }',
    );

    const [collection] = loadCollections(dir, { entities: catalog });

    expect(collection?.outputs.map((o) => [o.schema, o.table, o.ownerColumns, o.isForeach])).toEqual([
      ['analytics', 'screen_views', ['id'], false],
      ['public', 'session_screen', ['session_id'], true],
    ]);
    expect(collection?.outputs[0]?.columns.map((c) => `${c.name} ${c.type}${c.isKey ? ' key' : ''}`)).toEqual([
      'id text key',
      'day date key',
      'ok boolean',
      'ref_id uuid',
    ]);
    expect(collection?.outputs[1]?.columns.map((c) => `${c.name} ${c.type}`)).toEqual([
      'session_id text',
      'position integer',
      'seconds double',
    ]);
    const doc = { id: 's1', day: '2024-05-01', screens: [{ position: 1, seconds: 2.5 }] };
    expect(collection?.projector?.project(doc)).toEqual({
      kind: 'rows',
      rows: [[['s1', '2024-05-01', null, null]], [['s1', 1, 2.5]]],
    });
  });

  it('refuses a type Spillway does not write, naming the entity, the property and the type', () => {
    file('{ entity: Dated }');

    expect(problems()).toEqual([
      expect.stringMatching(
        /^output\[0\]\.with\.entity: entity Dated: property at type "timestamp" is not supported; one of varchar, /,
      ),
    ]);
  });

  it('refuses a primary key without a column read from the document id, and an owner that is not text', () => {
    file('{ entity: SessionScreen }', '{ entity: ScreenView, mapping: [{ id: ref }, { day: id }] }');

    expect(problems()).toEqual([
      expect.stringContaining(
        `output[0].with.entity: entity SessionScreen: its primary key (sessionId, position) must include a column read from the collection's key field "id"`,
      ),
      "output[1].with.entity: entity ScreenView: property day must be a text column: it holds the document's id as it is (a date column could give two ids the same rows)",
    ]);
  });

  it('refuses a generated column, an unknown property, a declared table, and a version column that is not a bigint', () => {
    file(
      '{ entity: Generated }',
      '{ entity: SessionFact, mapping: [nope], table: x }',
      '{ entity: SessionFact, version_column: visits }',
    );

    expect(problems()).toEqual([
      'output[0].with.entity: entity Generated: property seq is generated by the database: Spillway writes every column from the document',
      'output[1].with.table: is not a known field',
      'output[1].with.mapping[0]: entity SessionFact has no column property "nope" (its properties: id, userId, visits, amount, startedAt, extra, spillway_version)',
      'output[2].with.entity: entity SessionFact: property visits is the version column "visits": it must be a bigint column outside the primary key (or set version_column to another name)',
    ]);
  });

  it('refuses an unknown entity naming the modules searched, and an entity output without SINK_ENTITIES', () => {
    file('{ entity: Nope }');

    expect(problems()).toEqual([
      'output[0].with.entity: entity "Nope" is not exported by any module of SINK_ENTITIES (entities.js; entities found: Dated, Generated, ScreenView, SessionFact, SessionScreen)',
    ]);
    expect(problems(loadEntityModules([]))).toEqual([
      'output[0].with.entity: no entity modules are loaded: set SINK_ENTITIES to the compiled modules exporting "Nope"',
    ]);
    expect(() => loadCollections(dir, { entities: catalog })).toThrow(
      `collection file ${join(dir, 'a.yaml')}: field "output[0].with.entity": entity "Nope" is not exported`,
    );
  });

  it('loads modules relative to the working directory, reporting one that fails or exports no entity', () => {
    writeFileSync(join(dir, 'empty.js'), 'module.exports = { answer: 42 };\n');
    writeFileSync(join(dir, 'broken.js'), 'throw new Error("boom");\n');

    const sut = loadEntityModules(['empty.js', 'broken.js', 'missing.js'], dir);

    expect(sut.problems.map((p) => `${p.file}: ${p.path}: ${p.reason}`)).toEqual([
      'empty.js: (module): exports no TypeORM entity (a class decorated with @Entity(), or an EntitySchema)',
      'broken.js: (module): cannot be loaded: boom',
      expect.stringMatching(/^missing\.js: \(module\): cannot be loaded: Cannot find module/),
    ]);
    file('{ table: t, keys: [id], columns: { id: text } }');
    expect(() => loadCollections(dir, { entities: sut })).toThrow(
      'SINK_ENTITIES module empty.js: exports no TypeORM entity',
    );
  });
});
