import { Injectable, Logger } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { collectionTable } from './collection-tables';
import { DatabaseService } from './database.service';

/** One key for every replica, so only one at a time runs DDL. */
const DDL_LOCK_KEY = 7_263_001;

/** Runs Spillway's migrations and creates missing collection tables; never drops or alters anything. */
@Injectable()
export class SchemaProvisioner {
  private readonly logger = new Logger(SchemaProvisioner.name);

  constructor(private readonly database: DatabaseService) {}

  async provision(collections: readonly Collection[]): Promise<void> {
    const dataSource = await this.database.connect();
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.query('SELECT pg_advisory_lock($1)', [DDL_LOCK_KEY]);
      await dataSource.runMigrations({ transaction: 'all' });
      for (const collection of collections) {
        await runner.createSchema(collection.tableSchema, true);
        if (!(await runner.hasTable(collectionTable(collection)))) {
          await runner.createTable(collectionTable(collection), true);
          this.logger.log(`created table ${collection.tableSchema}.${collection.table}`);
        }
      }
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [DDL_LOCK_KEY]).catch(() => undefined);
      await runner.release();
    }
  }
}
