import { type FieldPath, getPath, hasPath, removePath, setPath } from '../documents/field-path';
import { fieldItems, fieldPathAt } from './block-parts';
import type { TransformBlockKind } from './transform-step';

/**
 * `rename_field`: moves each `from_field` to its `to_field` (one, or a `fields` list, in order), replacing what
 * `to_field` held; a document without `from_field` is left as it is.
 */
export const renameFieldBlock: TransformBlockKind = {
  uses: 'rename_field',
  compile(def, context) {
    const renames: { from: FieldPath; to: FieldPath }[] = [];
    let complete = true;
    for (const { item, sink } of fieldItems(def, context)) {
      const from = fieldPathAt(sink, 'from_field', String(item.from_field), context.keyField);
      const to = fieldPathAt(sink, 'to_field', String(item.to_field), context.keyField);
      if (from && to) {
        renames.push({ from, to });
      } else {
        complete = false;
      }
    }
    if (!complete) return undefined;

    return {
      where: context.where,
      apply: (doc) =>
        renames.reduce(
          (current, { from, to }) =>
            hasPath(current, from) ? setPath(removePath(current, from), to, getPath(current, from)) : current,
          doc,
        ),
    };
  },
};
