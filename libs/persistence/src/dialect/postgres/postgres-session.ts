import type { ClientBase, PoolClient } from 'pg';
import type { QueryRunner } from 'typeorm';
import type { SqlSession, Statement } from '../sql-dialect';
import { copyIn } from './copy-in';

/**
 * A {@link SqlSession} on a node-postgres client: a named statement is prepared once per connection (one name per
 * text), an unnamed one ('') is planned for each run's values.
 */
export class PostgresSession implements SqlSession {
  constructor(
    readonly client: ClientBase,
    private readonly runner?: QueryRunner,
  ) {}

  static async of(runner: QueryRunner): Promise<PostgresSession> {
    return new PostgresSession((await runner.connect()) as PoolClient, runner);
  }

  /** True inside a transaction its query runner began. */
  get inTransaction(): boolean {
    return this.runner?.isTransactionActive ?? false;
  }

  async rows<T>(statement: Statement, values: readonly unknown[]): Promise<T[]> {
    return (await this.client.query<T & object>({ name: statement.name, text: statement.text, values: [...values] }))
      .rows;
  }

  async changes(statement: Statement, values: readonly unknown[]): Promise<number> {
    const result = await this.client.query({ name: statement.name, text: statement.text, values: [...values] });

    return result.rowCount ?? 0;
  }

  /**
   * Runs `COPY … FROM STDIN` with `data` (in the COPY's format) as its input, in one write (see copy-in.ts); throws the
   * server's error.
   */
  async copyIn(copy: string, data: string): Promise<void> {
    await copyIn(this.client, copy, data);
  }

  /**
   * Runs `work`; when it fails inside a transaction, rolls back to a savepoint taken before it, so that the
   * transaction can go on. Outside a transaction, a failed statement changed nothing already.
   */
  async undoingOnError<T>(work: () => Promise<T>): Promise<T> {
    if (!this.inTransaction) {
      return work();
    }
    await this.client.query('SAVEPOINT spillway_attempt');
    try {
      const result = await work();
      await this.client.query('RELEASE SAVEPOINT spillway_attempt');

      return result;
    } catch (error) {
      await this.client.query('ROLLBACK TO SAVEPOINT spillway_attempt');
      throw error;
    }
  }
}
