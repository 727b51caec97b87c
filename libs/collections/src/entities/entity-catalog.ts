import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type CollectionFileProblem, MODULE_PROBLEM_PATH } from '../collection-file.problem';
import { firstLine } from '../expressions/expression';
import {
  describeEntityClass,
  describeEntitySchema,
  isEntityClass,
  isEntitySchema,
  type UserEntity,
} from './user-entity';

/** The entities exported by the modules of SINK_ENTITIES, by name, for outputs that say `entity:`. */
export class EntityCatalog {
  private readonly byName: ReadonlyMap<string, UserEntity>;

  constructor(
    /** The modules searched, as SINK_ENTITIES names them. */
    readonly modules: readonly string[],
    entities: readonly UserEntity[],
    /** The problems of the modules (one that cannot be loaded, exports no entity, or two of one name). */
    readonly problems: readonly CollectionFileProblem[] = [],
  ) {
    this.byName = new Map(entities.map((entity) => [entity.name, entity]));
  }

  find(name: string): UserEntity | undefined {
    return this.byName.get(name);
  }

  /** The names it holds, sorted, for messages. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}

/** The entities a module exports: decorated classes and `EntitySchema`s (named exports, or the module itself). */
function exportedEntities(exported: unknown, module: string): UserEntity[] {
  const values =
    typeof exported === 'object' && exported !== null && !isEntitySchema(exported)
      ? Object.values(exported)
      : [exported];

  return values.flatMap((value) => {
    if (isEntitySchema(value)) return [describeEntitySchema(value, module)];
    if (isEntityClass(value)) return [describeEntityClass(value, module)];

    return [];
  });
}

/**
 * Loads the compiled JavaScript modules of SINK_ENTITIES (paths resolved from `cwd`) and collects the TypeORM
 * entities they export. Never throws for a bad module: its problem is in {@link EntityCatalog.problems}.
 */
export function loadEntityModules(paths: readonly string[], cwd = process.cwd()): EntityCatalog {
  // Resolved as the user's own modules would be: relative to the working directory, with its node_modules.
  const load = createRequire(join(resolve(cwd), 'spillway-entities.js'));
  const problems: CollectionFileProblem[] = [];
  const entities = new Map<string, UserEntity>();
  for (const path of paths) {
    let exported: unknown;
    try {
      exported = load(resolve(cwd, path));
    } catch (e) {
      problems.push({ file: path, path: MODULE_PROBLEM_PATH, reason: `cannot be loaded: ${firstLine(e)}` });
      continue;
    }
    const found = exportedEntities(exported, path);
    if (found.length === 0) {
      problems.push({
        file: path,
        path: MODULE_PROBLEM_PATH,
        reason: 'exports no TypeORM entity (a class decorated with @Entity(), or an EntitySchema)',
      });
    }
    for (const entity of found) {
      const other = entities.get(entity.name);
      if (other && other.module !== path) {
        problems.push({
          file: path,
          path: MODULE_PROBLEM_PATH,
          reason: `entity "${entity.name}" is also exported by ${other.module}: one name, one entity`,
        });
      }
      entities.set(entity.name, entity);
    }
  }

  return new EntityCatalog(paths, [...entities.values()], problems);
}
