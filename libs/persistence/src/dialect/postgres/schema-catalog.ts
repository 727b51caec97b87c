import type { DataSource } from 'typeorm';
import { qualifiedPath } from '../../schema/ddl-statement';
import type { SchemaCatalog } from '../../schema/schema-catalog';

/** PostgreSQL's catalog, for schema plans: pg_namespace, pg_constraint, pg_attribute, pg_index. */
export const postgresSchemaCatalog: SchemaCatalog = {
  async currentSchema(db: DataSource) {
    const [{ current }] = await db.query<[{ current: string }]>('SELECT current_schema() AS current');

    return current;
  },

  locate: (schema) => schema,

  async missingSchemas(db, schemas) {
    const existing = await db.query<{ nspname: string }[]>(
      'SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])',
      [schemas],
    );

    return schemas.filter((schema) => !existing.some((row) => row.nspname === schema));
  },

  createSchema: (runner, schema) => runner.createSchema(schema, true),

  async factsOf(db, ddl, currentSchema) {
    switch (ddl.kind) {
      case 'drop-constraint': {
        const [row] = await db.query<{ contype: string }[]>(
          'SELECT contype FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2',
          [ddl.table, ddl.name],
        );

        return { constraintType: row?.contype };
      }
      case 'drop-column': {
        const [row] = await db.query<{ type: string }[]>(
          `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
            WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`,
          [ddl.table, ddl.column],
        );

        return { columnType: row?.type };
      }
      case 'drop-index': {
        const [row] = await db.query<{ schema: string; table: string }[]>(
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
      case 'change-column':
      case 'add-constraint':
      case 'other':
        return {};
    }
  },
};
