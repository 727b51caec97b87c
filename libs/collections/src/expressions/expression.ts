import { compile, type JSONValue, TreeInterpreter } from '@jmespath-community/jmespath';

/** The expression languages a block may name; RDI's `sql` is not one of them. */
export const EXPRESSION_LANGUAGE = 'jmespath';

/**
 * A JMESPath expression (the JMESPath Community specification, which adds arithmetic: "amount * `100`"),
 * compiled once at load.
 */
export interface Expression {
  readonly source: string;
  /** Its value on `data`; throws when the expression fails on it (a function given the wrong type, …). */
  evaluate(data: unknown): unknown;
}

/** Why an expression was refused at load. */
export class ExpressionError extends Error {
  constructor(
    /** `language`: a language other than jmespath; `syntax`: the expression does not parse. */
    readonly kind: 'language' | 'syntax',
    message: string,
  ) {
    super(message);
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The first line of an error's message, at most 200 characters (the library's messages name types, never values). */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);

  return (message.split('\n')[0] ?? '').slice(0, 200);
}

/** Throws {@link ExpressionError} for a language other than jmespath (undefined: the default, jmespath). */
export function assertLanguage(language: string | undefined): void {
  if (language !== undefined && language.toLowerCase() !== EXPRESSION_LANGUAGE) {
    throw new ExpressionError('language', `language ${language} is not supported; use ${EXPRESSION_LANGUAGE}`);
  }
}

/**
 * Compiles `expression` in `language` (default jmespath, case-insensitive). Throws {@link ExpressionError} naming
 * the problem: another language, or a syntax error.
 */
export function compileExpression(expression: string, language: string | undefined): Expression {
  assertLanguage(language);
  let ast: ReturnType<typeof compile>;
  try {
    // Legacy literals (`foo` for "foo") as RDI's JMESPath took them.
    ast = compile(expression, { enable_legacy_literals: true });
  } catch (e) {
    throw new ExpressionError('syntax', `not a valid JMESPath expression: ${firstLine(e)}`);
  }

  const named = expression.length > 80 ? `${expression.slice(0, 77)}...` : expression;

  return {
    source: expression,
    evaluate: (data) => {
      try {
        return TreeInterpreter.search(ast, data as JSONValue) ?? null;
      } catch (e) {
        throw new Error(`expression ${JSON.stringify(named)} failed: ${firstLine(e)}`, { cause: e });
      }
    },
  };
}

/** JMESPath's truth: false, null, an empty string, array or object are false; anything else is true. */
export function isTruthy(value: unknown): boolean {
  if (value === false || value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;

  return true;
}
