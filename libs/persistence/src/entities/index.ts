export * from './column-types';
export * from './entity-dialect';
export * from './entity-name';
export * from './output-table.entity';
export * from './state-table.entity';
export * from './tombstone.entity';
