import type { ProblemSink } from '../collection-file.problem';
import type { TransformBlockUses } from '../collection-file.schema';
import type { JsonObject } from '../documents/field-path';

/** What a `filter` block returns for a document it drops. */
export const FILTERED = Symbol('filtered');

/** One compiled `transform` block. */
export interface TransformStep {
  /** Where it was declared, for messages: `transform[2] (add_field)`. */
  readonly where: string;
  /**
   * The document after this block (a new object: the one given is never changed), or {@link FILTERED}. Throws when
   * the block cannot apply to this document (an expression fails, a path runs into a non-object).
   */
  apply(doc: JsonObject): JsonObject | typeof FILTERED;
}

/** What a block's compiler is given. */
export interface BlockContext {
  /** Problems of the block itself (`transform[2]`). */
  readonly block: ProblemSink;
  /** Problems of its `with` (`transform[2].with`). */
  readonly with: ProblemSink;
  /** `transform[2] (add_field)`. */
  readonly where: string;
  /** The collection's key field, which no block may change. */
  readonly keyField: string;
}

/** One kind of transform block (`uses:`): compiles a `with` whose shape its JSON Schema already checked. */
export interface TransformBlockKind {
  readonly uses: TransformBlockUses;
  /** The step, or undefined after reporting the problems of `def` to the context. */
  compile(def: Record<string, unknown>, context: BlockContext): TransformStep | undefined;
}
