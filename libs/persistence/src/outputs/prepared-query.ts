import type { PoolClient } from 'pg';

/**
 * Runs a statement prepared once per connection under `name` (one name per text), or planned for these values alone
 * when `name` is '' (PostgreSQL's unnamed statement), and returns its rows.
 */
export async function preparedRows<T>(client: PoolClient, name: string, text: string, values: unknown[]): Promise<T[]> {
  return (await client.query<T & object>({ name, text, values })).rows;
}
