export * from './collection';
export * from './collections.loader';
export * from './collections.registry';
export * from './collections.module';
export * from './outputs';
