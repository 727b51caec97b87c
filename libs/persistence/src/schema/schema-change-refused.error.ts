import type { RefusedStatement } from './schema-plan.types';

/**
 * A sink will not start: the collection files ask for a schema change that would drop, rename or retype
 * something. The message is one line: the first refused statement's reason, and how many more there are.
 */
export class SchemaChangeRefusedError extends Error {
  constructor(readonly refused: readonly RefusedStatement[]) {
    const more = refused.length - 1;
    super(
      (refused[0]?.reason ?? 'a schema change was refused') +
        (more > 0 ? ` (and ${more} more refused: \`npm run cli -- plan\` lists them)` : ''),
    );
    this.name = this.constructor.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
