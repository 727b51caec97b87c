import type { ClientBase, PoolClient } from 'pg';
import type { QueryRunner } from 'typeorm';
import type { SqlSession, Statement } from '../sql-dialect';

/**
 * A {@link SqlSession} on a node-postgres client: a named statement is prepared once per connection (one name per
 * text), an unnamed one ('') is planned for each run's values.
 */
export class PostgresSession implements SqlSession {
  constructor(readonly client: ClientBase) {}

  static async of(runner: QueryRunner): Promise<PostgresSession> {
    return new PostgresSession((await runner.connect()) as PoolClient);
  }

  async rows<T>(statement: Statement, values: readonly unknown[]): Promise<T[]> {
    return (await this.client.query<T & object>({ name: statement.name, text: statement.text, values: [...values] }))
      .rows;
  }

  async changes(statement: Statement, values: readonly unknown[]): Promise<number> {
    const result = await this.client.query({ name: statement.name, text: statement.text, values: [...values] });

    return result.rowCount ?? 0;
  }
}
