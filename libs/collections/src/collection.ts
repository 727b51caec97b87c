import type { ValidateFunction } from 'ajv';
import type { Durability } from '@app/contracts';
import type { OutputTable, Projector } from './outputs';

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
  /** Partition streams of the collection (`partitions:`, else SPILLWAY_PARTITIONS, else 1); ids are hashed to one. */
  readonly partitions: number;
  /** The durability of its writes whose request names none (`durability:`); unset: INGEST_DURABILITY's. */
  readonly durability?: Durability;
  /** Compiled JSON Schema, when the file declares one. */
  readonly validateDoc?: ValidateFunction;
  /** The file it came from, for messages. */
  readonly file: string;
  /** Typed output tables (`output:` in the file), written in the same transaction as the state table; often none. */
  readonly outputs: readonly OutputTable[];
  /** Makes the output rows of a document; present exactly when {@link outputs} is not empty. */
  readonly projector?: Projector;
}
