import { DataSource, type DataSourceOptions } from 'typeorm';
import { TombstoneEntity } from './entities/tombstone.entity';
import { CreateTombstones1763800000000 } from './migrations/1763800000000-create-tombstones';

export interface DataSourceSettings {
  url: string;
  /** Connections in the pool. */
  poolSize: number;
}

export function spillwayDataSourceOptions(settings: DataSourceSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: [TombstoneEntity],
    migrations: [CreateTombstones1763800000000],
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
      // Its statements are prepared once per connection, often while a collection's table is still empty. The
      // generic plan PostgreSQL then caches scans the whole table (a delete batch went from 0.2 ms to 13 ms as a
      // fresh table grew to 44k rows); a plan made for each execution sees the table as it is, for about 0.2 ms.
      options: '-c synchronous_commit=on -c plan_cache_mode=force_custom_plan',
    },
  };
}

export function createSpillwayDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource(spillwayDataSourceOptions(settings));
}
