export * from './output-writes';
export * from './owner-keys';
export * from './reprojection-writes';
