import { type CollectionFileProblem, ProblemSink } from '../collection-file.problem';
import { compileRelationalWrite, type OutputContext } from './relational-write.compiler';

const documents: OutputContext = { collection: 'sessions', kind: 'document', keyField: 'id', file: 'f.yaml' };

function compile(spec: Record<string, unknown>, context = documents, uses = 'relational.write') {
  const found: CollectionFileProblem[] = [];
  const output = compileRelationalWrite(
    { uses, with: spec },
    0,
    context,
    new ProblemSink('f.yaml', found, 'output[0]'),
  );

  return { output, problems: found.map((p) => `${p.path}: ${p.reason}`) };
}

const facts = {
  table: 'session_facts',
  keys: ['id'],
  mapping: [{ user_id: 'userId' }, 'device_type'],
  columns: { id: 'text', user_id: 'text', device_type: 'text' },
};

describe(compileRelationalWrite.name, () => {
  it('makes the table: keys first, then mapped columns; the defaults for schema, version column and exclude_ops', () => {
    const sut = compile(facts);

    expect(sut.problems).toEqual([]);
    expect(sut.output?.table).toEqual({
      source: 'f.yaml: output[0]',
      schema: 'public',
      table: 'session_facts',
      columns: [
        { name: 'id', type: 'text', isKey: true },
        { name: 'user_id', type: 'text', isKey: false },
        { name: 'device_type', type: 'text', isKey: false },
      ],
      versionColumn: 'spillway_version',
      ownerColumns: ['id'],
      isForeach: false,
      excludeOps: [],
      connection: 'default',
    });
  });

  it('takes a composite key, a foreach, a schema, a version column and exclude_ops', () => {
    const sut = compile({
      schema: 'app',
      table: 'session_screens',
      foreach: 'screen: screens[]',
      keys: [{ session_id: 'id' }, { position: 'screen.position' }],
      mapping: [{ name: 'screen.name' }],
      columns: { session_id: 'text', position: 'integer', name: 'text' },
      version_column: 'doc_version',
      exclude_ops: ['delete'],
    });

    expect(sut.problems).toEqual([]);
    expect(sut.output?.table).toMatchObject({
      schema: 'app',
      table: 'session_screens',
      columns: [
        { name: 'session_id', type: 'text', isKey: true },
        { name: 'position', type: 'integer', isKey: true },
        { name: 'name', type: 'text', isKey: false },
      ],
      versionColumn: 'doc_version',
      ownerColumns: ['session_id'],
      isForeach: true,
      excludeOps: ['delete'],
    });
  });

  it('lets mapping repeat a key with the same field, as RDI examples do', () => {
    const sut = compile({ ...facts, mapping: ['id', ...facts.mapping] });

    expect(sut.problems).toEqual([]);
    expect(sut.output?.table.columns.map((c) => c.name)).toEqual(['id', 'user_id', 'device_type']);
  });

  it('takes the key field of the collection, whatever it is called', () => {
    const sut = compile(
      { table: 't', keys: [{ order_id: 'orderNo' }], columns: { order_id: 'text' } },
      { ...documents, keyField: 'orderNo' },
    );

    expect(sut.output?.table.ownerColumns).toEqual(['order_id']);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      'keys without the key field',
      { ...facts, keys: ['user_id'], mapping: ['id'], columns: { id: 'text', user_id: 'text' } },
      [
        'output[0].with.keys: must include the collection\'s key field "id" (as id or {some_column: id}): Spillway ' +
          "finds a document's rows by its id, to replace them on a newer version and remove them on a delete",
      ],
    ],
    [
      'an owner column that is not text',
      { table: 't', keys: [{ sid: 'id' }], columns: { sid: 'uuid' } },
      [
        "output[0].with.columns.sid: must be text: it holds the document's id as it is (a uuid column could give two ids the same rows)",
      ],
    ],
    [
      'a column without a type',
      { ...facts, columns: { id: 'text', user_id: 'text' } },
      ['output[0].with.mapping[1]: column "device_type" has no type: add it to columns'],
    ],
    [
      'a type for a column neither key nor mapped',
      { ...facts, columns: { ...facts.columns, extra: 'text' } },
      ['output[0].with.columns.extra: is neither a key nor a mapped column'],
    ],
    [
      'an unknown type',
      { ...facts, columns: { ...facts.columns, user_id: 'varchar' } },
      [
        'output[0].with.columns.user_id: unknown type "varchar"; one of text, integer, bigint, numeric, double, ' +
          'boolean, timestamptz, date, uuid, jsonb',
      ],
    ],
    [
      'a column name that is not an identifier, in the short form',
      { ...facts, mapping: ['userId'], columns: { id: 'text' } },
      [
        'output[0].with.mapping[0]: "userId" is not a column name ([a-z_][a-z0-9_]{0,62}); name the column: {some_name: userId}',
      ],
    ],
    [
      'a column name that is not an identifier, in the long form',
      { ...facts, mapping: [{ 'User Id': 'userId' }], columns: { id: 'text' } },
      ['output[0].with.mapping[0]: "User Id" is not a column name ([a-z_][a-z0-9_]{0,62})'],
    ],
    [
      'an entry of two columns',
      { ...facts, mapping: [{ a: 'x', b: 'y' }], columns: { id: 'text' } },
      ['output[0].with.mapping[0]: must be "column" or {column: field.path}, one column to an entry'],
    ],
    [
      'an entry whose field is not a string',
      { ...facts, mapping: [{ a: 1 }], columns: { id: 'text' } },
      ['output[0].with.mapping[0]: the field of column "a" must be a field path (a string)'],
    ],
    [
      'a bad field path',
      { ...facts, mapping: [{ a: 'x..y' }], columns: { id: 'text', a: 'text' } },
      ['output[0].with.mapping[0]: "x..y" is not a field path: names without spaces, separated by single dots'],
    ],
    [
      'a column mapped twice',
      { ...facts, mapping: [{ a: 'x' }, { a: 'y' }], columns: { id: 'text', a: 'text' } },
      ['output[0].with.mapping[1]: column "a" is already mapped by mapping[0]'],
    ],
    [
      'a key repeated in mapping from another field',
      { ...facts, mapping: [{ id: 'other' }], columns: { id: 'text' } },
      ['output[0].with.mapping[0]: column "id" is already mapped by keys[0]'],
    ],
    [
      'a key named twice',
      { ...facts, keys: ['id', { id: 'x' }], mapping: [], columns: { id: 'text' } },
      ['output[0].with.keys[1]: column "id" is already a key'],
    ],
    [
      'a column named as the default version column',
      { ...facts, mapping: [{ spillway_version: 'v' }], columns: { id: 'text', spillway_version: 'bigint' } },
      [
        'output[0].with.mapping[0]: column "spillway_version" is the version column Spillway adds; rename the column or set version_column',
      ],
    ],
    [
      'a version column named as a column',
      { ...facts, version_column: 'user_id' },
      [
        'output[0].with.version_column: column "user_id" is the version column Spillway adds; rename the column or set version_column',
      ],
    ],
    [
      'an operation other than delete in exclude_ops',
      { ...facts, exclude_ops: ['delete', 'update'] },
      ['output[0].with.exclude_ops[1]: "update" cannot be excluded; only delete'],
    ],
    [
      'a reserved table name',
      { ...facts, table: 'spillway_facts' },
      ['output[0].with.table: names starting with spillway_ are reserved for Spillway'],
    ],
    [
      'a table name that is not an identifier',
      { ...facts, table: 'Facts' },
      ['output[0].with.table: must match pattern "^[a-z_][a-z0-9_]{0,62}$"'],
    ],
    ['no keys', { ...facts, keys: [] }, ['output[0].with.keys: must NOT have fewer than 1 items']],
    ['no columns', { table: 't', keys: ['id'] }, ["output[0].with.columns: must have required property 'columns'"]],
    [
      'an RDI field Spillway does not take',
      { ...facts, load_strategy: 'UPSERT' },
      ['output[0].with.load_strategy: is not a known field'],
    ],
    [
      'a connection name that is not one',
      { ...facts, connection: 'Target' },
      ['output[0].with.connection: must match pattern "^[a-z][a-z0-9_]{0,31}$"'],
    ],
    [
      'a foreach not in the "alias: expression" form',
      { ...facts, foreach: 'screens[]' },
      ['output[0].with.foreach: must be "alias: expression", e.g. "screen: screens[]"'],
    ],
    [
      'a foreach whose expression does not parse',
      { ...facts, foreach: 'screen: screens[' },
      ['output[0].with.foreach: not a valid JMESPath expression: Syntax error: expected Star, got: EOF'],
    ],
    [
      'a foreach alias that hides the key field',
      { ...facts, foreach: 'id: screens[]' },
      ['output[0].with.foreach: the alias "id" would hide the collection\'s key field; choose another name'],
    ],
  ])('refuses %s', (_, spec, problems) => {
    const sut = compile(spec);

    expect(sut.output).toBeUndefined();
    expect(sut.problems).toEqual(problems);
  });

  it('refuses an output other than relational.write', () => {
    const sut = compile(facts, documents, 'redis.write');

    expect(sut.problems).toEqual([
      'output[0].uses: unknown output "redis.write"; Spillway writes relational.write outputs',
    ]);
  });

  it('refuses exclude_ops on an event collection', () => {
    const sut = compile({ ...facts, exclude_ops: ['delete'] }, { ...documents, kind: 'event' });

    expect(sut.problems).toEqual([
      'output[0].with.exclude_ops: events are never deleted: exclude_ops is for document collections',
    ]);
  });

  it('reports every problem of the output at once', () => {
    const sut = compile({
      table: 'spillway_x',
      keys: [{ sid: 'id' }],
      mapping: [{ a: 'x' }],
      columns: { sid: 'integer', a: 'int', b: 'text' },
      colour: 'red',
    });

    expect(sut.problems).toEqual([
      'output[0].with.colour: is not a known field',
      'output[0].with.table: names starting with spillway_ are reserved for Spillway',
      'output[0].with.columns.a: unknown type "int"; one of text, integer, bigint, numeric, double, boolean, timestamptz, date, uuid, jsonb',
      'output[0].with.columns.b: is neither a key nor a mapped column',
      "output[0].with.columns.sid: must be text: it holds the document's id as it is (an integer column could give two ids the same rows)",
    ]);
  });
});
