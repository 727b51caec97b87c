import { compileExpression, ExpressionError, isTruthy } from './expression';

describe(compileExpression.name, () => {
  it('evaluates JMESPath Community expressions, arithmetic included', () => {
    expect(compileExpression('amount * `100`', 'jmespath').evaluate({ amount: 12.5 })).toBe(1250);
    expect(compileExpression("status != 'draft'", undefined).evaluate({ status: 'x' })).toBe(true);
    expect(compileExpression('{id: id, n: upper(name)}', 'JMESPath').evaluate({ id: 'a', name: 'b' })).toEqual({
      id: 'a',
      n: 'B',
    });
  });

  it('takes legacy literals, as RDI did', () => {
    expect(compileExpression('`foo`', undefined).evaluate({})).toBe('foo');
  });

  it('gives null for a missing field', () => {
    expect(compileExpression('a.b', undefined).evaluate({})).toBeNull();
  });

  it('refuses another language', () => {
    expect(() => compileExpression('age > 20', 'sql')).toThrow(
      new ExpressionError('language', 'language sql is not supported; use jmespath'),
    );
  });

  it('refuses a syntax error', () => {
    expect(() => compileExpression('a[', undefined)).toThrow(/^not a valid JMESPath expression: Syntax error/);
  });

  it('names the expression when it fails on a document', () => {
    const sut = compileExpression('amount * `100`', undefined);

    expect(() => sut.evaluate({ amount: 'x' })).toThrow('expression "amount * `100`" failed: not-a-number');
  });
});

describe(isTruthy.name, () => {
  it.each([
    [false, false],
    [null, false],
    ['', false],
    [[], false],
    [{}, false],
    [true, true],
    [0, true],
    ['x', true],
    [[0], true],
    [{ a: 1 }, true],
  ])('%j is %s', (value, truth) => {
    expect(isTruthy(value)).toBe(truth);
  });
});
