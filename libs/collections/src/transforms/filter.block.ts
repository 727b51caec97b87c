import { expressionAt } from './block-parts';
import { FILTERED, type TransformBlockKind } from './transform-step';
import { isTruthy } from '../expressions/expression';

/**
 * `filter`: keeps the document when the expression is true in JMESPath's sense (not false, null, or an empty string,
 * array or object); otherwise the document has no row in any output, as if deleted.
 */
export const filterBlock: TransformBlockKind = {
  uses: 'filter',
  compile(def, context) {
    const expression = expressionAt(context.with, context.block, def);
    if (!expression) return undefined;

    return { where: context.where, apply: (doc) => (isTruthy(expression.evaluate(doc)) ? doc : FILTERED) };
  },
};
