export * from './collection';
export * from './connection-view';
export * from './collections.loader';
export {
  type CollectionFileProblem,
  describeProblem,
  FOLDER_PROBLEM_PATH,
  MODULE_PROBLEM_PATH,
} from './collection-file.problem';
export { EntityCatalog, loadEntityModules } from './entities/entity-catalog';
export * from './collections.registry';
export * from './collections.module';
export * from './outputs';
export {
  DEFAULT_OUTPUT_SCHEMA,
  DEFAULT_VERSION_COLUMN,
  RELATIONAL_WRITE,
} from './projection/relational-write.compiler';
