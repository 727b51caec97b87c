import { arrayLiteral } from './array-literals';

describe(arrayLiteral.name, () => {
  it('writes numbers and booleans bare, every string quoted, null and undefined as NULL', () => {
    expect(arrayLiteral([1, -2.5, 1e21, true, false, null, undefined])).toBe('{1,-2.5,1e+21,true,false,NULL,NULL}');
    expect(arrayLiteral(['a', '', 'NULL', ' b ', '{x,y}'])).toBe('{"a","","NULL"," b ","{x,y}"}');
  });

  it('escapes quotes and backslashes in strings', () => {
    expect(arrayLiteral(['say "hi"', 'a\\b', '\\"'])).toBe('{"say \\"hi\\"","a\\\\b","\\\\\\""}');
  });

  it('writes an empty array', () => {
    expect(arrayLiteral([])).toBe('{}');
  });
});
