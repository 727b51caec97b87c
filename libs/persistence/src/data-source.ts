import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Collection } from '@app/collections';
import { CreateTombstones1763800000000 } from './migrations/1763800000000-create-tombstones';
import { CreateWriteDocumentsFunction1763900000000 } from './migrations/1763900000000-create-write-documents-function';
import { IndexTombstonesByStreamMsAlone1764000000000 } from './migrations/1764000000000-index-tombstones-by-stream-ms-alone';
import { CreateWriteDocumentsV2Function1764100000000 } from './migrations/1764100000000-create-write-documents-v2-function';
import { spillwayEntities } from './schema/described-tables';

export interface DataSourceSettings {
  url: string;
  /** Connections in the pool. */
  poolSize: number;
  /** Collections whose tables become the data source's entities (`getMetadata('<schema>.<table>')`); default none. */
  collections?: readonly Collection[];
}

export function spillwayDataSourceOptions(settings: DataSourceSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    // Entities describe the tables; they never change them here (synchronize is off): spillway_tombstones is made by
    // the migrations, the collections' tables by the schema provisioner.
    entities: spillwayEntities(settings.collections ?? []),
    migrations: [
      CreateTombstones1763800000000,
      CreateWriteDocumentsFunction1763900000000,
      IndexTombstonesByStreamMsAlone1764000000000,
      CreateWriteDocumentsV2Function1764100000000,
    ],
    migrationsRun: false,
    migrationsTableName: 'spillway_migrations',
    synchronize: false,
    logging: false,
    poolSize: settings.poolSize,
    extra: {
      connectionTimeoutMillis: 3000,
      application_name: 'spillway',
      // The sink acks stream entries once their transaction commits, so a commit must survive a server crash
      // even where the server's default is synchronous_commit = off.
      options: '-c synchronous_commit=on',
    },
  };
}

export function createSpillwayDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource(spillwayDataSourceOptions(settings));
}
