import type { ProblemSink } from '../collection-file.problem';
import type { BlockDef, TransformBlockUses } from '../collection-file.schema';
import { fileFormatValidators } from '../collection-file.validators';
import type { JsonObject } from '../documents/field-path';
import { firstLine } from '../expressions/expression';
import { onlyUnknownFields, reportSchemaErrors } from '../schema-problems';
import { addFieldBlock } from './add-field.block';
import { filterBlock } from './filter.block';
import { mapBlock } from './map.block';
import { removeFieldBlock } from './remove-field.block';
import { renameFieldBlock } from './rename-field.block';
import { FILTERED, type TransformBlockKind, type TransformStep } from './transform-step';

const BLOCK_KINDS: Readonly<Record<TransformBlockUses, TransformBlockKind>> = {
  add_field: addFieldBlock,
  remove_field: removeFieldBlock,
  rename_field: renameFieldBlock,
  map: mapBlock,
  filter: filterBlock,
};

function isBlockUses(uses: string): uses is TransformBlockUses {
  return Object.hasOwn(BLOCK_KINDS, uses);
}

/**
 * Compiles a file's `transform` blocks, in order; undefined after reporting their problems (all of them) to `sink`,
 * the file's.
 */
export function compileTransforms(
  blocks: readonly BlockDef[],
  sink: ProblemSink,
  keyField: string,
): TransformStep[] | undefined {
  const steps: TransformStep[] = [];
  let complete = true;
  blocks.forEach((def, index) => {
    const block = sink.at(`transform[${index}]`);
    if (!isBlockUses(def.uses)) {
      block.add('uses', `unknown block "${def.uses}"; one of ${Object.keys(BLOCK_KINDS).join(', ')}`);
      complete = false;

      return;
    }
    const validate = fileFormatValidators().transform[def.uses];
    const withSink = block.at('with');
    if (!validate(def.with)) {
      reportSchemaErrors(validate.errors, withSink);
      complete = false;
      if (!onlyUnknownFields(validate.errors)) return;
    }
    const context = { block, with: withSink, where: `transform[${index}] (${def.uses})`, keyField };
    const step = BLOCK_KINDS[def.uses].compile(def.with, context);
    if (step) {
      steps.push(step);
    } else {
      complete = false;
    }
  });

  return complete ? steps : undefined;
}

/** What the transform blocks made of one document. */
export type TransformResult =
  | { readonly kind: 'document'; readonly doc: JsonObject }
  | { readonly kind: 'filtered' }
  | { readonly kind: 'failed'; readonly where: string; readonly problem: string };

/** Applies the steps in order; the document given is never changed. */
export function runTransforms(steps: readonly TransformStep[], doc: JsonObject): TransformResult {
  let current = doc;
  for (const step of steps) {
    let next: JsonObject | typeof FILTERED;
    try {
      next = step.apply(current);
    } catch (e) {
      return { kind: 'failed', where: step.where, problem: firstLine(e) };
    }
    if (next === FILTERED) return { kind: 'filtered' };
    current = next;
  }

  return { kind: 'document', doc: current };
}
