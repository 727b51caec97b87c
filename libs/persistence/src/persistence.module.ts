import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { CollectionRegistry } from '@app/collections';
import { databaseConfig } from '@app/config';
import { DEFAULT_CONNECTION } from '@app/contracts';
import { collectionsIn, DatabaseConnections } from './database-connections';
import { createSpillwayDataSource } from './data-source';
import { DatabaseService } from './database.service';

export interface PersistenceModuleOptions {
  /** Connections in each database's pool. */
  poolSize: number;
}

/**
 * The databases: {@link DatabaseConnections} holds one {@link DatabaseService} per connection, each with the tables of
 * that database as entities; {@link DatabaseService} alone is the default connection's (the one the ingest reads).
 */
@Global()
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceModuleOptions): DynamicModule {
    return {
      module: PersistenceModule,
      providers: [
        {
          provide: DatabaseConnections,
          inject: [databaseConfig.KEY, CollectionRegistry],
          useFactory: (cfg: ConfigType<typeof databaseConfig>, collections: CollectionRegistry) => {
            const databases = cfg.connections.map(({ name, url }) => ({
              name,
              database: new DatabaseService(
                createSpillwayDataSource({
                  url,
                  poolSize: options.poolSize,
                  collections: collectionsIn(collections.all(), name),
                }),
              ),
            }));

            return new DatabaseConnections(databases);
          },
        },
        {
          provide: DatabaseService,
          inject: [DatabaseConnections],
          useFactory: (connections: DatabaseConnections) => connections.get(DEFAULT_CONNECTION),
        },
      ],
      exports: [DatabaseConnections, DatabaseService],
    };
  }
}
