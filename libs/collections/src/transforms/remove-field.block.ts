import { type FieldPath, removePath } from '../documents/field-path';
import { fieldItems, fieldPathAt } from './block-parts';
import type { TransformBlockKind } from './transform-step';

/** `remove_field`: removes each field (one, or a `fields` list); a field the document lacks is no problem. */
export const removeFieldBlock: TransformBlockKind = {
  uses: 'remove_field',
  compile(def, context) {
    const paths: FieldPath[] = [];
    let complete = true;
    for (const { item, sink } of fieldItems(def, context)) {
      const path = fieldPathAt(sink, 'field', String(item.field), context.keyField);
      if (path) {
        paths.push(path);
      } else {
        complete = false;
      }
    }
    if (!complete) return undefined;

    return { where: context.where, apply: (doc) => paths.reduce((current, path) => removePath(current, path), doc) };
  },
};
