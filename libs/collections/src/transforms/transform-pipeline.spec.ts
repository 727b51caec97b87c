import { type CollectionFileProblem, ProblemSink } from '../collection-file.problem';
import type { BlockDef } from '../collection-file.schema';
import { compileTransforms, runTransforms, type TransformResult } from './transform-pipeline';

function compile(blocks: BlockDef[], keyField = 'id') {
  const found: CollectionFileProblem[] = [];
  const steps = compileTransforms(blocks, new ProblemSink('f.yaml', found), keyField);

  return { steps, problems: found.map((p) => `${p.path}: ${p.reason}`) };
}

/** Compiles the blocks (which must be valid) and runs them on `doc`. */
function run(blocks: BlockDef[], doc: Record<string, unknown>): TransformResult {
  const { steps, problems } = compile(blocks);
  expect(problems).toEqual([]);

  return runTransforms(steps ?? [], doc);
}

const block = (uses: string, spec: Record<string, unknown>): BlockDef => ({ uses, with: spec });

describe(compileTransforms.name, () => {
  describe('add_field', () => {
    it('sets a field to the value of its expression', () => {
      const sut = run(
        [block('add_field', { field: 'amount_cents', language: 'jmespath', expression: 'amount * `100`' })],
        {
          id: 'a',
          amount: 12.5,
        },
      );

      expect(sut).toEqual({ kind: 'document', doc: { id: 'a', amount: 12.5, amount_cents: 1250 } });
    });

    it('takes a fields list, applied in order, each seeing the fields before it, at nested paths', () => {
      const sut = run(
        [
          block('add_field', {
            fields: [
              { field: 'name.full', language: 'jmespath', expression: "join(' ', [name.first, name.last])" },
              { field: 'name.upper', expression: 'upper(name.full)' },
            ],
          }),
        ],
        { id: 'a', name: { first: 'Ada', last: 'Lovelace' } },
      );

      expect(sut).toEqual({
        kind: 'document',
        doc: { id: 'a', name: { first: 'Ada', last: 'Lovelace', full: 'Ada Lovelace', upper: 'ADA LOVELACE' } },
      });
    });

    it('replaces a field that exists, and sets null when the expression finds nothing', () => {
      const sut = run([block('add_field', { field: 'x', expression: 'missing' })], { id: 'a', x: 1 });

      expect(sut).toEqual({ kind: 'document', doc: { id: 'a', x: null } });
    });

    it('fails on a document whose nested path runs into a non-object', () => {
      const sut = run([block('add_field', { field: 'name.full', expression: '`1`' })], { id: 'a', name: 'Ada' });

      expect(sut).toEqual({
        kind: 'failed',
        where: 'transform[0] (add_field)',
        problem: 'cannot set field "name.full": "name" is a string, not an object',
      });
    });
  });

  describe('remove_field', () => {
    it('removes one field, or a fields list, nested paths included; a missing field is no problem', () => {
      const doc = { id: 'a', secret: 1, card: { number: 'x', kind: 'visa' } };

      expect(run([block('remove_field', { field: 'secret' })], doc)).toEqual({
        kind: 'document',
        doc: { id: 'a', card: { number: 'x', kind: 'visa' } },
      });
      expect(
        run(
          [block('remove_field', { fields: [{ field: 'card.number' }, { field: 'secret' }, { field: 'nope.x' }] })],
          doc,
        ),
      ).toEqual({ kind: 'document', doc: { id: 'a', card: { kind: 'visa' } } });
    });
  });

  describe('rename_field', () => {
    it('moves a field, nested paths included', () => {
      const sut = run([block('rename_field', { from_field: 'device.type', to_field: 'device_type' })], {
        id: 'a',
        device: { type: 'ios', model: 'x' },
      });

      expect(sut).toEqual({ kind: 'document', doc: { id: 'a', device: { model: 'x' }, device_type: 'ios' } });
    });

    it('takes a fields list, in order; a missing from_field leaves the document as it is', () => {
      const sut = run(
        [
          block('rename_field', {
            fields: [
              { from_field: 'name.lname', to_field: 'name.last_name' },
              { from_field: 'nope', to_field: 'other' },
              { from_field: 'n', to_field: 'moved.n' },
            ],
          }),
        ],
        { id: 'a', name: { lname: 'L' }, n: null },
      );

      expect(sut).toEqual({ kind: 'document', doc: { id: 'a', name: { last_name: 'L' }, moved: { n: null } } });
    });
  });

  describe('map', () => {
    it('replaces the document by the object its expression makes', () => {
      const sut = run(
        [block('map', { expression: '{id: id, user: userId, city: address.city}', language: 'jmespath' })],
        {
          id: 'a',
          userId: 'u',
          address: { city: 'Paris' },
          extra: 1,
        },
      );

      expect(sut).toEqual({ kind: 'document', doc: { id: 'a', user: 'u', city: 'Paris' } });
    });

    it('takes the object form: an expression for each field, nested', () => {
      const sut = run([block('map', { expression: { id: 'id', location: { city: 'address.city' } } })], {
        id: 'a',
        address: { city: 'Paris' },
      });

      expect(sut).toEqual({ kind: 'document', doc: { id: 'a', location: { city: 'Paris' } } });
    });

    it('fails on a document for which the expression makes no object', () => {
      const sut = run([block('map', { expression: 'items' })], { id: 'a', items: [1] });

      expect(sut).toEqual({
        kind: 'failed',
        where: 'transform[0] (map)',
        problem: 'the map expression gave an array, not an object',
      });
    });
  });

  describe('filter', () => {
    const filter = block('filter', { language: 'jmespath', expression: "status != 'draft'" });

    it('keeps a document for which the expression is true', () => {
      expect(run([filter], { id: 'a', status: 'active' })).toEqual({
        kind: 'document',
        doc: { id: 'a', status: 'active' },
      });
    });

    it('drops a document for which it is false, null or empty', () => {
      expect(run([filter], { id: 'a', status: 'draft' })).toEqual({ kind: 'filtered' });
      expect(run([block('filter', { expression: 'tags' })], { id: 'a', tags: [] })).toEqual({ kind: 'filtered' });
      expect(run([block('filter', { expression: 'missing' })], { id: 'a' })).toEqual({ kind: 'filtered' });
    });
  });

  it('applies the blocks in order, each on what the one before made, and never changes the document given', () => {
    const doc = { id: 'a', device: { type: 'ios' }, amount: 2, secret: 's', status: 'active' };
    const before = structuredClone(doc);

    const sut = run(
      [
        block('rename_field', { from_field: 'device.type', to_field: 'device_type' }),
        block('add_field', { field: 'amount_cents', expression: 'amount * `100`' }),
        block('remove_field', { field: 'secret' }),
        block('filter', { expression: "device_type == 'ios' && amount_cents > `100`" }),
        block('add_field', { field: 'after_filter', expression: '`true`' }),
      ],
      doc,
    );

    expect(sut).toEqual({
      kind: 'document',
      doc: {
        id: 'a',
        device: {},
        device_type: 'ios',
        amount: 2,
        amount_cents: 200,
        status: 'active',
        after_filter: true,
      },
    });
    expect(doc).toEqual(before);
  });

  it('stops at the block whose expression fails, naming it and the expression', () => {
    const sut = run(
      [block('filter', { expression: 'id' }), block('add_field', { field: 'n', expression: 'upper(count)' })],
      { id: 'a', count: 1 },
    );

    expect(sut).toEqual({
      kind: 'failed',
      where: 'transform[1] (add_field)',
      problem:
        'expression "upper(count)" failed: Invalid type: upper() expected argument 1 to be type (string) but received type number instead.',
    });
  });

  describe('refuses at load', () => {
    it.each<[string, BlockDef, string]>([
      ['an unknown block', block('upper', {}), 'transform[0].uses: unknown block "upper"; one of add_field'],
      [
        'another language, naming the block',
        block('add_field', { field: 'x', language: 'sql', expression: 'a || b' }),
        'transform[0]: language sql is not supported; use jmespath',
      ],
      [
        'another language in a fields list, naming the item',
        block('add_field', { fields: [{ field: 'x', language: 'sql', expression: 'a' }] }),
        'transform[0].with.fields[0]: language sql is not supported; use jmespath',
      ],
      [
        'a syntax error',
        block('filter', { expression: 'a[' }),
        'transform[0].with.expression: not a valid JMESPath expression: Syntax error',
      ],
      [
        'a syntax error in the object form of map',
        block('map', { expression: { id: 'id', x: 'a[' } }),
        'transform[0].with.expression.x: not a valid JMESPath expression',
      ],
      [
        'another language in the object form of map, once',
        block('map', { expression: { id: 'id', x: 'a' }, language: 'sql' }),
        'transform[0]: language sql is not supported; use jmespath',
      ],
      [
        'a name that would reach the prototype in the object form of map',
        block('map', { expression: JSON.parse('{"id": "id", "__proto__": "a"}') }),
        'transform[0].with.expression.__proto__: "__proto__" is not allowed as a name',
      ],
      [
        'a bad field path',
        block('remove_field', { field: 'a..b' }),
        'transform[0].with.field: "a..b" is not a field path',
      ],
      [
        'a missing field',
        block('rename_field', { from_field: 'a' }),
        "transform[0].with.to_field: must have required property 'to_field'",
      ],
      [
        'an unknown field',
        block('filter', { expression: 'a', colour: 1 }),
        'transform[0].with.colour: is not a known field',
      ],
      [
        'an empty fields list',
        block('remove_field', { fields: [] }),
        'transform[0].with.fields: must NOT have fewer than 1 items',
      ],
      [
        'a block that removes the key field',
        block('remove_field', { field: 'id' }),
        'transform[0].with.field: changes the collection\'s key field "id": Spillway finds a document\'s rows in the outputs by its id',
      ],
      [
        'a block that renames the key field away',
        block('rename_field', { fields: [{ from_field: 'id', to_field: 'x' }] }),
        'transform[0].with.fields[0].from_field: changes the collection\'s key field "id"',
      ],
      [
        'a block that writes into the key field',
        block('add_field', { field: 'id.x', expression: '`1`' }),
        'transform[0].with.field: changes the collection\'s key field "id"',
      ],
    ])('%s', (_, def, problem) => {
      const sut = compile([def]);

      expect(sut.steps).toBeUndefined();
      expect(sut.problems).toEqual([expect.stringContaining(problem)]);
    });

    it('reports the problems of every block', () => {
      const sut = compile([
        block('filter', { expression: 'a[' }),
        block('filter', { expression: 'ok' }),
        block('map', { expression: 'b[', language: 'sql' }),
      ]);

      expect(sut.problems).toEqual([
        expect.stringMatching(/^transform\[0\]\.with\.expression: /),
        'transform[2]: language sql is not supported; use jmespath',
      ]);
    });
  });
});
