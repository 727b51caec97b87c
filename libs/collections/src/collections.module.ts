import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
// A type only: importing @app/config's code would run its ConfigModule.forRoot() in every importer of this lib,
// the `spillway` command line among them.
import type { AppConfig, DatabaseConfig } from '@app/config';
import { loadCollections } from './collections.loader';
import { loadEntityModules } from './entities/entity-catalog';
import { CollectionRegistry } from './collections.registry';

@Global()
@Module({
  providers: [
    {
      provide: CollectionRegistry,
      inject: [ConfigService],
      useFactory: (config: ConfigService) => {
        const app = config.getOrThrow<AppConfig>('app');
        const entities = loadEntityModules(app.entityModules);
        const connections = config.getOrThrow<DatabaseConfig>('database').connections.map((c) => c.name);

        return new CollectionRegistry(
          loadCollections(app.collectionsDir, { entities, connections, partitions: app.partitions }),
        );
      },
    },
  ],
  exports: [CollectionRegistry],
})
export class CollectionsModule {}
