import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
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
          inject: [postgresConfig.KEY],
          useFactory: (cfg: ConfigType<typeof postgresConfig>) =>
            new DatabaseService(createSpillwayDataSource({ url: cfg.url, ...options })),
        },
      ],
      exports: [DatabaseService],
    };
  }
}
