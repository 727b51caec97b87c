import { type FieldPath, setPath } from '../documents/field-path';
import type { Expression } from '../expressions/expression';
import { expressionAt, fieldItems, fieldPathAt } from './block-parts';
import type { TransformBlockKind } from './transform-step';

/**
 * `add_field`: sets each field to its expression's value on the document (RDI's one-field form, or a `fields` list
 * applied in order, each seeing the fields set before it). A field that exists is replaced.
 */
export const addFieldBlock: TransformBlockKind = {
  uses: 'add_field',
  compile(def, context) {
    const fields: { path: FieldPath; expression: Expression }[] = [];
    let complete = true;
    for (const { item, sink, languageSink } of fieldItems(def, context)) {
      const path = fieldPathAt(sink, 'field', String(item.field), context.keyField);
      const expression = expressionAt(sink, languageSink, item);
      if (path && expression) {
        fields.push({ path, expression });
      } else {
        complete = false;
      }
    }
    if (!complete) return undefined;

    return {
      where: context.where,
      apply: (doc) => {
        // The first field's write copies the document; a later field at the top level is set on that copy, which
        // nothing else holds, rather than copying the document once more for each field.
        let current = doc;
        let copied = false;
        for (const { path, expression } of fields) {
          const value = expression.evaluate(current);
          if (copied && path.length === 1) {
            current[path[0] as string] = value;
          } else {
            current = setPath(current, path, value);
            copied = true;
          }
        }

        return current;
      },
    };
  },
};
