export * from './document-locks';
export * from './output-dialect';
export * from './output-writes';
export * from './owner-keys';
export * from './postgres-output-sql';
export * from './postgres-reprojection-sql';
export * from './prepared-query';
export * from './reprojection-writes';
