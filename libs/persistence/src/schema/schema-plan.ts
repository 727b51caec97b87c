import { DataSource, type DataSourceOptions, MigrationExecutor } from 'typeorm';
import type { Collection } from '@app/collections';
import { type DdlStatement, parseDdl, qualifiedPath } from './ddl-statement';
import { describedTables } from './described-tables';
import type { SchemaPlan } from './schema-plan.types';
import { type PlannedStatement, sortStatements, type StatementFacts } from './statement-verdicts';

/** Schemas the tables need that do not exist yet, as TypeORM's query runner writes their creation. */
async function schemaCreations(planning: DataSource, schemas: readonly string[]): Promise<PlannedStatement[]> {
  const existing = await planning.query<{ nspname: string }[]>(
    'SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])',
    [schemas],
  );
  const missing = schemas.filter((schema) => !existing.some((row) => row.nspname === schema));
  const runner = planning.createQueryRunner();
  runner.enableSqlMemory();
  try {
    for (const schema of missing) {
      await runner.createSchema(schema, true);
    }

    return runner
      .getMemorySql()
      .upQueries.map((q) => ({ sql: q.query, parameters: q.parameters ?? [], ddl: parseDdl(q.query), facts: {} }));
  } finally {
    runner.disableSqlMemory();
    await runner.release();
  }
}

/** Looks up, for a statement that would drop something, what it would drop (for the verdict and its message). */
async function factsOf(planning: DataSource, ddl: DdlStatement, currentSchema: string): Promise<StatementFacts> {
  switch (ddl.kind) {
    case 'drop-constraint': {
      const [row] = await planning.query<{ contype: string }[]>(
        'SELECT contype FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2',
        [ddl.table, ddl.name],
      );

      return { constraintType: row?.contype };
    }
    case 'drop-column': {
      const [row] = await planning.query<{ type: string }[]>(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
          WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`,
        [ddl.table, ddl.column],
      );

      return { columnType: row?.type };
    }
    case 'drop-index': {
      const [row] = await planning.query<{ schema: string; table: string }[]>(
        `SELECT n.nspname AS schema, c.relname AS table FROM pg_index i
           JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE i.indexrelid = to_regclass($1)`,
        [ddl.index],
      );

      return { indexTable: row && qualifiedPath(`"${row.schema}"."${row.table}"`, currentSchema) };
    }
    case 'create-schema':
    case 'create-table':
    case 'create-index':
    case 'add-column':
    case 'rename-column':
    case 'alter-column':
    case 'add-constraint':
    case 'other':
      return {};
  }
}

/**
 * What a sink starting now would do to the database for these collections, without changing anything: Spillway's
 * pending migrations, then the statements of TypeORM's schema sync for the entities of every state table, every
 * output and `spillway_tombstones` (compared once the migrations have made it), each allowed, refused or left alone
 * (see {@link SchemaPlan}). Only the tables of these entities are compared; other tables, even in the same schema,
 * are never read.
 *
 * Builds the entities' metadata on a short-lived data source of one connection with the options of `dataSource`
 * (which must be initialized, and whose own entities play no part).
 */
export async function planSchema(dataSource: DataSource, collections: readonly Collection[]): Promise<SchemaPlan> {
  const pendingMigrations = (await new MigrationExecutor(dataSource).getPendingMigrations()).map((m) => m.name);
  const tables = describedTables(collections, { withTombstones: pendingMigrations.length === 0 });
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
    const [{ current }] = await planning.query<[{ current: string }]>('SELECT current_schema() AS current');
    const schemas = [...new Set(tables.flatMap((t) => (t.schema === undefined ? [] : [t.schema])))];
    const statements = await schemaCreations(planning, schemas);
    const sync = await planning.driver.createSchemaBuilder().log();
    for (const query of sync.upQueries) {
      const ddl = parseDdl(query.query);
      statements.push({
        sql: query.query,
        parameters: query.parameters ?? [],
        ddl,
        facts: await factsOf(planning, ddl, current),
      });
    }
    const declaredIndexes = new Map(
      planning.entityMetadatas.flatMap((m) =>
        m.indices.map((index) => [
          `${m.schema ?? current}.${index.name ?? ''}`,
          `${m.schema ?? current}.${m.tableName}`,
        ]),
      ),
    );
    const byTable = new Map(tables.map((t) => [`${t.schema ?? current}.${t.table}`, t]));

    return {
      pendingMigrations,
      ...sortStatements(statements, { tables: byTable, declaredIndexes, currentSchema: current }),
    };
  } finally {
    await planning.destroy();
  }
}
