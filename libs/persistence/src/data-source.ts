import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Collection } from '@app/collections';
import { sqlDialectFor } from './dialect';
import { spillwayEntities } from './schema/described-tables';

export interface DataSourceSettings {
  /** The database's URL; its scheme selects the dialect (dialect/sql-dialect.ts). */
  url: string;
  /** Connections in the pool. */
  poolSize: number;
  /** Collections whose tables become the data source's entities (`getMetadata('<schema>.<table>')`); default none. */
  collections?: readonly Collection[];
}

export function spillwayDataSourceOptions(settings: DataSourceSettings): DataSourceOptions {
  const dialect = sqlDialectFor(settings.url);

  return {
    ...dialect.dataSourceOptions(settings),
    // Entities describe the tables; they never change them here (synchronize is off): spillway_tombstones is made by
    // the migrations, the collections' tables by the schema provisioner.
    entities: spillwayEntities(settings.collections ?? [], dialect.tables),
    migrationsRun: false,
    migrationsTableName: 'spillway_migrations',
    synchronize: false,
    logging: false,
  };
}

export function createSpillwayDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource(spillwayDataSourceOptions(settings));
}
