import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import {
  collectionFileSchema,
  entityWriteSchema,
  relationalWriteSchema,
  type TransformBlockUses,
  transformBlockSchemas,
} from './collection-file.schema';

/** The compiled JSON Schemas of the file format, made once: every error of a file is reported, not only the first. */
export interface FileFormatValidators {
  readonly file: ValidateFunction;
  readonly transform: Readonly<Record<TransformBlockUses, ValidateFunction>>;
  readonly relationalWrite: ValidateFunction;
  readonly entityWrite: ValidateFunction;
}

let validators: FileFormatValidators | undefined;

export function fileFormatValidators(): FileFormatValidators {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const transform = Object.fromEntries(
      Object.entries(transformBlockSchemas).map(([uses, schema]) => [uses, ajv.compile(schema)]),
    ) as Record<TransformBlockUses, ValidateFunction>;
    validators = {
      file: ajv.compile(collectionFileSchema),
      transform,
      relationalWrite: ajv.compile(relationalWriteSchema),
      entityWrite: ajv.compile(entityWriteSchema),
    };
  }

  return validators;
}
