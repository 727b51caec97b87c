import { Injectable, Logger } from '@nestjs/common';
import type { Collection } from '@app/collections';
import { DatabaseService } from './database.service';
import { applySchema } from './schema/schema-apply';
import { planSchema } from './schema/schema-plan';

/**
 * Runs Spillway's migrations, then creates what the collections' tables need and only adds to them: missing
 * schemas, tables, keys, indexes and columns. A change that would drop, rename or retype anything stops it with a
 * {@link SchemaChangeRefusedError} before any statement runs.
 */
@Injectable()
export class SchemaProvisioner {
  private readonly logger = new Logger(SchemaProvisioner.name);

  constructor(private readonly database: DatabaseService) {}

  async provision(collections: readonly Collection[]): Promise<void> {
    const dataSource = await this.database.connect();
    const runner = dataSource.createQueryRunner();
    try {
      await runner.connect();
      await this.database.dialect.withDdlLock(runner, async () => {
        await dataSource.runMigrations({ transaction: 'all' });
        const plan = await planSchema(dataSource, collections);
        for (const statement of plan.leftAlone) {
          this.logger.log(`left alone, as no collection file describes it: ${statement.sql}`);
        }
        await applySchema(runner, plan);
        for (const statement of plan.allowed) {
          this.logger.log(`ran ${statement.sql}`);
        }
      });
    } finally {
      await runner.release();
    }
  }
}
