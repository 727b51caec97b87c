import { Global, Module } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { appConfig } from '@app/config';
import { loadCollections } from './collections.loader';
import { CollectionRegistry } from './collections.registry';

@Global()
@Module({
  providers: [
    {
      provide: CollectionRegistry,
      inject: [appConfig.KEY],
      useFactory: (cfg: ConfigType<typeof appConfig>) => new CollectionRegistry(loadCollections(cfg.collectionsDir)),
    },
  ],
  exports: [CollectionRegistry],
})
export class CollectionsModule {}
