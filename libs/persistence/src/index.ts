export * from './data-source';
export * from './collection-tables';
export * from './database.service';
export * from './backoff';
export * from './persistence.module';
export * from './schema.provisioner';
