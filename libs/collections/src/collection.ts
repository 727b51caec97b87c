import type { ValidateFunction } from 'ajv';

export type CollectionKind = 'document' | 'event';

/** One collection as declared by a YAML file in COLLECTIONS_DIR. */
export interface Collection {
  readonly name: string;
  readonly kind: CollectionKind;
  /** PostgreSQL schema of the table. */
  readonly tableSchema: string;
  readonly table: string;
  /** Document field that holds the id. */
  readonly key: string;
  /** Compiled JSON Schema, when the file declares one. */
  readonly validateDoc?: ValidateFunction;
  /** The file it came from, for messages. */
  readonly file: string;
}
