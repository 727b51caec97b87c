import { isJsonObject } from '../documents/field-path';
import type { OutputRow, Projection, Projector } from '../outputs';
import type { TransformStep } from '../transforms/transform-step';
import { runTransforms } from '../transforms/transform-pipeline';
import { type OutputRows, ProjectionFailure } from './output-rows';

/** The {@link Projector} of one collection: its transform blocks, then each output's rows. */
export class CollectionProjector implements Projector {
  constructor(
    private readonly collection: string,
    private readonly keyField: string,
    private readonly steps: readonly TransformStep[],
    private readonly outputs: readonly OutputRows[],
  ) {}

  project(doc: unknown): Projection {
    if (!isJsonObject(doc)) return this.invalid('the document is not a JSON object');
    const id = doc[this.keyField];
    if (typeof id !== 'string') return this.invalid(`the document has no id in field ${this.keyField}`);
    const transformed = runTransforms(this.steps, doc);
    switch (transformed.kind) {
      case 'filtered':
        return transformed;
      case 'failed':
        return this.invalid(`${transformed.where}: ${transformed.problem}`);
      case 'document':
        break;
    }
    // A map block makes a new document: it must keep the id, by which Spillway finds the document's rows.
    if (transformed.doc[this.keyField] !== id) {
      return this.invalid(`the transform blocks changed or removed the key field ${this.keyField}`);
    }
    const rows: OutputRow[][] = [];
    try {
      for (const output of this.outputs) rows.push(output.rows(transformed.doc, id));
    } catch (e) {
      if (e instanceof ProjectionFailure) return { kind: 'invalid', reason: e.reason };
      throw e;
    }

    return { kind: 'rows', rows };
  }

  only(outputs: readonly number[]): Projector {
    const kept = outputs.map((i) => {
      const output = this.outputs[i];
      if (output === undefined) throw new Error(`collection ${this.collection} has no output ${i}`);

      return output;
    });

    return new CollectionProjector(this.collection, this.keyField, this.steps, kept);
  }

  private invalid(problem: string): Projection {
    return { kind: 'invalid', reason: `collection ${this.collection}: ${problem}` };
  }
}
