import type { QueryRunner } from 'typeorm';
import { SchemaChangeRefusedError } from './schema-change-refused.error';
import type { SchemaPlan } from './schema-plan.types';

/**
 * Runs a plan's allowed statements in one transaction on `runner`, all or none; throws
 * {@link SchemaChangeRefusedError} without running any when the plan refuses a statement. Statements left alone
 * are never run.
 *
 * MariaDB and MySQL commit each DDL statement on its own (their DDL is not transactional): a failure there leaves
 * the statements before it done. Each only adds, so the next start plans and runs the rest.
 */
export async function applySchema(runner: QueryRunner, plan: SchemaPlan): Promise<void> {
  if (plan.refused.length > 0) {
    throw new SchemaChangeRefusedError(plan.refused);
  }
  if (plan.allowed.length === 0) {
    return;
  }
  await runner.startTransaction();
  try {
    for (const statement of plan.allowed) {
      await runner.query(statement.sql, statement.parameters.length > 0 ? [...statement.parameters] : undefined);
    }
    await runner.commitTransaction();
  } catch (error) {
    await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  }
}
