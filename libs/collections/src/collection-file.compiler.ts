import type Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Collection } from './collection';
import type { ProblemSink } from './collection-file.problem';
import type { BlockDef, CollectionFile } from './collection-file.schema';
import { fileFormatValidators } from './collection-file.validators';
import type { EntityCatalog } from './entities/entity-catalog';
import { firstLine } from './expressions/expression';
import { CollectionProjector } from './projection/collection-projector';
import type { OutputRows } from './projection/output-rows';
import { compileEntityWrite, isEntityWrite } from './projection/entity-write.compiler';
import { compileRelationalWrite, type OutputContext } from './projection/relational-write.compiler';
import { reportSchemaErrors } from './schema-problems';
import { compileTransforms } from './transforms/transform-pipeline';

/** Reads a file's YAML and checks its shape; undefined after reporting the problems. */
function readCollectionFile(sink: ProblemSink): CollectionFile | undefined {
  let raw: unknown;
  try {
    raw = parse(readFileSync(sink.file, 'utf8'));
  } catch (e) {
    sink.add('(file)', `not valid YAML: ${firstLine(e)}`);

    return undefined;
  }
  const validate = fileFormatValidators().file;
  if (!validate(raw)) {
    reportSchemaErrors(validate.errors, sink);

    return undefined;
  }

  return raw as CollectionFile;
}

/** Compiles one output: a user's entity (`entity:`), or a table declared in the file. */
function compileOutput(
  block: BlockDef,
  index: number,
  context: OutputContext,
  entities: EntityCatalog | undefined,
  sink: ProblemSink,
): OutputRows | undefined {
  return isEntityWrite(block)
    ? compileEntityWrite(block, index, context, entities, sink)
    : compileRelationalWrite(block, index, context, sink);
}

/**
 * Reads, checks and compiles one collection file: its JSON Schema, transform blocks and outputs. Returns the
 * collection, or undefined after reporting every problem of the file to `sink`. `ajv` compiles the files' own
 * JSON Schemas (`schema:`); `entities` holds the entities an output may name (SINK_ENTITIES).
 */
export function compileCollectionFile(
  sink: ProblemSink,
  ajv: Ajv2020,
  defaults: { entities?: EntityCatalog; partitions: number },
): Collection | undefined {
  const { entities } = defaults;
  const def = readCollectionFile(sink);
  if (!def) return undefined;
  const before = sink.count;
  const qualified = def.table ?? def.name;
  const dot = qualified.indexOf('.');
  const [tableSchema, table] = dot === -1 ? ['public', qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
  const key = def.key ?? 'id';
  let validateDoc: ValidateFunction | undefined;
  if (def.schema) {
    try {
      validateDoc = ajv.compile(def.schema);
    } catch (e) {
      sink.add('schema', `not a valid JSON Schema: ${(e as Error).message}`);
    }
  }

  const blocks = def.transform ?? [];
  const steps = compileTransforms(blocks, sink, key);
  const context = { collection: def.name, kind: def.kind, keyField: key, file: sink.file };
  const outputs = (def.output ?? []).map((block, i) =>
    compileOutput(block, i, context, entities, sink.at(`output[${i}]`)),
  );
  if (blocks.length > 0 && outputs.length === 0) {
    sink.add('transform', 'transform blocks shape the outputs: add an output, or remove them');
  }
  if (sink.count > before || !steps) return undefined;

  const compiled = outputs as OutputRows[];

  return {
    name: def.name,
    kind: def.kind,
    tableSchema,
    table,
    key,
    partitions: def.partitions ?? defaults.partitions,
    ...(def.durability !== undefined && { durability: def.durability }),
    validateDoc,
    file: sink.file,
    outputs: compiled.map((output) => output.table),
    ...(compiled.length > 0 && { projector: new CollectionProjector(def.name, key, steps, compiled) }),
  };
}
