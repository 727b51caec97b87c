import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
// A type only: importing @app/config's code would run its ConfigModule.forRoot() in every importer of this lib,
// the `spillway` command line among them.
import type { AppConfig } from '@app/config';
import { loadCollections } from './collections.loader';
import { CollectionRegistry } from './collections.registry';

@Global()
@Module({
  providers: [
    {
      provide: CollectionRegistry,
      inject: [ConfigService],
      useFactory: (config: ConfigService) =>
        new CollectionRegistry(loadCollections(config.getOrThrow<AppConfig>('app').collectionsDir)),
    },
  ],
  exports: [CollectionRegistry],
})
export class CollectionsModule {}
