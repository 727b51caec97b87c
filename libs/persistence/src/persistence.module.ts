import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { CollectionRegistry } from '@app/collections';
import { postgresConfig } from '@app/config';
import { createSpillwayDataSource } from './data-source';
import { DatabaseService } from './database.service';

export interface PersistenceModuleOptions {
  poolSize: number;
}

@Global()
@Module({})
export class PersistenceModule {
  static forRoot(options: PersistenceModuleOptions): DynamicModule {
    return {
      module: PersistenceModule,
      providers: [
        {
          provide: DatabaseService,
          inject: [postgresConfig.KEY, CollectionRegistry],
          useFactory: (cfg: ConfigType<typeof postgresConfig>, collections: CollectionRegistry) =>
            new DatabaseService(createSpillwayDataSource({ url: cfg.url, collections: collections.all(), ...options })),
        },
      ],
      exports: [DatabaseService],
    };
  }
}
