import { FieldPathConflict, getPath, hasPath, parseFieldPath, removePath, setPath } from './field-path';

describe(parseFieldPath.name, () => {
  it('splits a dotted path into its names', () => {
    expect(parseFieldPath('device.type')).toEqual(['device', 'type']);
    expect(parseFieldPath('userId')).toEqual(['userId']);
  });

  it.each([
    ['', 'must be a field path of 1 to 200 characters'],
    ['a..b', '"a..b" is not a field path: names without spaces, separated by single dots'],
    ['.a', '".a" is not a field path'],
    ['a b', '"a b" is not a field path'],
    ['a.__proto__', '"__proto__" is not allowed as a name'],
    ['constructor', '"constructor" is not allowed as a name'],
    ['x'.repeat(201), 'must be a field path of 1 to 200 characters'],
    [Array(33).fill('a').join('.'), 'at most 32 names deep'],
  ])('refuses %j', (text, problem) => {
    const sut = parseFieldPath(text);

    expect(sut).toEqual(expect.stringContaining(problem));
  });
});

describe(getPath.name, () => {
  const doc = { a: { b: { c: 1 }, n: null, list: [1] }, s: 'x' };

  it('reads nested fields, and undefined where the path leaves the objects', () => {
    expect(getPath(doc, ['a', 'b', 'c'])).toBe(1);
    expect(getPath(doc, ['a', 'n'])).toBeNull();
    expect(getPath(doc, ['a', 'missing', 'c'])).toBeUndefined();
    expect(getPath(doc, ['s', 'length'])).toBeUndefined();
    expect(getPath(doc, ['a', 'list', '0'])).toBeUndefined();
  });

  it('never reads the prototype', () => {
    expect(getPath({}, ['toString'])).toBeUndefined();
    expect(getPath({ a: {} }, ['a', 'hasOwnProperty'])).toBeUndefined();
  });
});

describe(setPath.name, () => {
  it('sets a nested field in a copy, creating missing objects, leaving the original as it was', () => {
    const doc = { a: { b: 1, keep: { deep: true } }, other: { x: 1 } };

    const sut = setPath(doc, ['a', 'c', 'd'], 2);

    expect(sut).toEqual({ a: { b: 1, keep: { deep: true }, c: { d: 2 } }, other: { x: 1 } });
    expect(doc).toEqual({ a: { b: 1, keep: { deep: true } }, other: { x: 1 } });
    expect(sut.other).toBe(doc.other);
  });

  it('replaces a null object on the way', () => {
    expect(setPath({ a: null }, ['a', 'b'], 1)).toEqual({ a: { b: 1 } });
  });

  it('refuses to go through a value that is not an object, naming its type', () => {
    expect(() => setPath({ a: 'x' }, ['a', 'b'], 1)).toThrow(
      new FieldPathConflict('cannot set field "a.b": "a" is a string, not an object'),
    );
    expect(() => setPath({ a: [1] }, ['a', 'b'], 1)).toThrow('"a" is an array, not an object');
  });
});

describe(removePath.name, () => {
  it('removes a nested field in a copy', () => {
    const doc = { a: { b: 1, c: 2 } };

    const sut = removePath(doc, ['a', 'b']);

    expect(sut).toEqual({ a: { c: 2 } });
    expect(doc).toEqual({ a: { b: 1, c: 2 } });
  });

  it('returns the document itself when the field is missing', () => {
    const doc = { a: { c: 2 }, s: 'x' };

    expect(removePath(doc, ['a', 'b'])).toBe(doc);
    expect(removePath(doc, ['s', 'b'])).toBe(doc);
    expect(removePath(doc, ['z'])).toBe(doc);
  });
});

describe(hasPath.name, () => {
  it('tells a field holding null from a missing one', () => {
    expect(hasPath({ a: { b: null } }, ['a', 'b'])).toBe(true);
    expect(hasPath({ a: {} }, ['a', 'b'])).toBe(false);
    expect(hasPath({}, ['toString'])).toBe(false);
  });
});
