import { DataSource, type DataSourceOptions, MigrationExecutor } from 'typeorm';
import type { Collection } from '@app/collections';
import { parseDdl } from './ddl-statement';
import { describedTables } from './described-tables';
import type { SchemaCatalog } from './schema-catalog';
import { sqlDialectOf } from '../dialect';
import type { SchemaPlan } from './schema-plan.types';
import { type PlannedStatement, sortStatements } from './statement-verdicts';

/** Schemas the tables need that do not exist yet, as TypeORM's query runner writes their creation. */
async function schemaCreations(
  planning: DataSource,
  catalog: SchemaCatalog,
  schemas: readonly string[],
): Promise<PlannedStatement[]> {
  const missing = await catalog.missingSchemas(planning, schemas);
  const runner = planning.createQueryRunner();
  runner.enableSqlMemory();
  try {
    for (const schema of missing) {
      await catalog.createSchema(runner, schema);
    }

    return runner
      .getMemorySql()
      .upQueries.map((q) => ({ sql: q.query, parameters: q.parameters ?? [], ddl: parseDdl(q.query), facts: {} }));
  } finally {
    runner.disableSqlMemory();
    await runner.release();
  }
}

/**
 * What a sink starting now would do to the database for these collections, without changing anything: Spillway's
 * pending migrations, then the statements of TypeORM's schema sync for the entities of every state table, every
 * output and `spillway_tombstones` (compared once the migrations have made it), each allowed, refused or left alone
 * (see {@link SchemaPlan}). Only the tables of these entities are compared; other tables, even in the same schema,
 * are never read.
 *
 * The database is the one of `dataSource` (its `options.type`: PostgreSQL, or MariaDB and MySQL, where a collection
 * file's schema is a database; see sqlDialectOf). Builds the entities' metadata on a short-lived data source of
 * one connection with the options of `dataSource` (which must be initialized, and whose own entities play no part).
 */
export async function planSchema(dataSource: DataSource, collections: readonly Collection[]): Promise<SchemaPlan> {
  const { tables: entityDialect, catalog } = sqlDialectOf(dataSource);
  const pendingMigrations = (await new MigrationExecutor(dataSource).getPendingMigrations()).map((m) => m.name);
  const tables = describedTables(collections, entityDialect, { withTombstones: pendingMigrations.length === 0 });
  const planning = new DataSource({
    ...dataSource.options,
    entities: tables.map((t) => t.entity),
    migrations: [],
    migrationsRun: false,
    synchronize: false,
    poolSize: 1,
  } as DataSourceOptions);
  await planning.initialize();
  try {
    const current = await catalog.currentSchema(planning);
    const schemaOf = (schema: string | undefined) => (schema === undefined ? current : catalog.locate(schema, current));
    const schemas = [...new Set(tables.map((t) => schemaOf(t.schema)))].filter((schema) => schema !== current);
    const statements = await schemaCreations(planning, catalog, schemas);
    const sync = await planning.driver.createSchemaBuilder().log();
    for (const query of sync.upQueries) {
      const ddl = parseDdl(query.query);
      statements.push({
        sql: query.query,
        parameters: query.parameters ?? [],
        ddl,
        facts: await catalog.factsOf(planning, ddl, current),
      });
    }
    const declaredIndexes = new Map(
      tables.flatMap((t) => {
        const path = `${schemaOf(t.schema)}.${t.table}`;

        return planning
          .getMetadata(t.entity.options.name)
          .indices.map((index) => [`${schemaOf(t.schema)}.${index.name ?? ''}`, path]);
      }),
    );
    const byTable = new Map(tables.map((t) => [`${schemaOf(t.schema)}.${t.table}`, t]));

    return {
      pendingMigrations,
      ...sortStatements(statements, { tables: byTable, declaredIndexes, currentSchema: current }),
    };
  } finally {
    await planning.destroy();
  }
}
