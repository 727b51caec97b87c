export * from './described-tables';
export * from './schema-apply';
export * from './schema-catalog';
export * from './schema-change-refused.error';
export * from './schema-plan';
export * from './schema-plan.types';
