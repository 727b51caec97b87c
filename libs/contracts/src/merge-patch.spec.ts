import { applyMergePatch } from './merge-patch';

describe(applyMergePatch.name, () => {
  const sut = (target: unknown, patch: unknown) =>
    applyMergePatch(JSON.parse(JSON.stringify(target)), JSON.parse(JSON.stringify(patch)));

  it('follows the examples of RFC 7396 appendix A', () => {
    expect(sut({ a: 'b' }, { a: 'c' })).toEqual({ a: 'c' });
    expect(sut({ a: 'b' }, { b: 'c' })).toEqual({ a: 'b', b: 'c' });
    expect(sut({ a: 'b' }, { a: null })).toEqual({});
    expect(sut({ a: 'b', b: 'c' }, { a: null })).toEqual({ b: 'c' });
    expect(sut({ a: ['b'] }, { a: 'c' })).toEqual({ a: 'c' });
    expect(sut({ a: 'c' }, { a: ['b'] })).toEqual({ a: ['b'] });
    expect(sut({ a: { b: 'c' } }, { a: { b: 'd', c: null } })).toEqual({ a: { b: 'd' } });
    expect(sut({ a: [{ b: 'c' }] }, { a: [1] })).toEqual({ a: [1] });
    expect(sut(['a', 'b'], ['c', 'd'])).toEqual(['c', 'd']);
    expect(sut({ a: 'b' }, ['c'])).toEqual(['c']);
    expect(sut({ a: 'foo' }, null)).toBeNull();
    expect(sut({ a: 'foo' }, 'bar')).toBe('bar');
    expect(sut({ e: null }, { a: 1 })).toEqual({ e: null, a: 1 });
    expect(sut([1, 2], { a: 'b', c: null })).toEqual({ a: 'b' });
    expect(sut({}, { a: { bb: { ccc: null } } })).toEqual({ a: { bb: {} } });
  });

  it('applies every member after one named constructor or prototype (json-merge-patch 1.0.2 stopped there)', () => {
    expect(sut({ userId: 'u' }, { status: 'idle', constructor: 'Ferrari', prototype: 1, amount: 5 })).toEqual({
      userId: 'u',
      status: 'idle',
      constructor: 'Ferrari',
      prototype: 1,
      amount: 5,
    });
  });

  it('treats member names of Object.prototype as data', () => {
    const doc = { userId: 'u', hasOwnProperty: 1, toString: 'x' };
    expect(sut(doc, { hasOwnProperty: null, valueOf: { a: 1 }, toString: { b: 2 } })).toEqual({
      userId: 'u',
      valueOf: { a: 1 },
      toString: { b: 2 },
    });
  });

  it('stores a __proto__ member as data without touching any prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    const result = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
