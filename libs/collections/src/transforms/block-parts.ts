/** The parts of a block's `with` that several kinds share: field paths and expressions, checked as they compile. */
import type { ProblemSink } from '../collection-file.problem';
import { type FieldPath, parseFieldPath } from '../documents/field-path';
import { compileExpression, type Expression, ExpressionError } from '../expressions/expression';
import type { BlockContext } from './transform-step';

/**
 * The field path `text` at `path` of the `with`, or undefined after reporting why not. `keyField`: refuse a path that
 * changes the collection's key field.
 */
export function fieldPathAt(sink: ProblemSink, path: string, text: string, keyField?: string): FieldPath | undefined {
  const parsed = parseFieldPath(text);
  if (typeof parsed === 'string') {
    sink.add(path, parsed);

    return undefined;
  }
  if (keyField !== undefined && (text === keyField || text.startsWith(`${keyField}.`))) {
    sink.add(
      path,
      `changes the collection's key field "${keyField}": Spillway finds a document's rows in the outputs by its id`,
    );

    return undefined;
  }

  return parsed;
}

/**
 * Compiles `{expression, language}` of a `with` (or of one item of its `fields`). A language other than jmespath is
 * reported on `languageSink` (the block, or the item), a syntax error on its `expression`.
 */
export function expressionAt(
  sink: ProblemSink,
  languageSink: ProblemSink,
  def: { expression?: unknown; language?: unknown },
  path = 'expression',
): Expression | undefined {
  try {
    return compileExpression(String(def.expression), def.language as string | undefined);
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    if (e.kind === 'language') {
      languageSink.add('', e.message);
    } else {
      sink.add(path, e.message);
    }

    return undefined;
  }
}

/** One field of a field block: its part of the `with`, where its problems go, and where a language problem goes. */
export interface FieldItem {
  readonly item: Record<string, unknown>;
  readonly sink: ProblemSink;
  readonly languageSink: ProblemSink;
}

/** The items of RDI's two forms: each of the `fields` list, or the `with` itself as the one item. */
export function fieldItems(def: Record<string, unknown>, context: BlockContext): FieldItem[] {
  const fields = def.fields;
  if (Array.isArray(fields)) {
    return fields.map((item, i) => {
      const sink = context.with.at(`fields[${i}]`);

      return { item: item as Record<string, unknown>, sink, languageSink: sink };
    });
  }

  return [{ item: def, sink: context.with, languageSink: context.block }];
}
