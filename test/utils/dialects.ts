import { DATABASE_KINDS, type DatabaseServer } from '../../tools/local-stack';
import { testDatabase } from './servers';

/**
 * Declares a suite's tests once per database kind, PostgreSQL then MariaDB, with the same bodies: only the database
 * under test, which `body` receives, differs. Each kind's tests sit in a describe "on PostgreSQL" / "on MariaDB", so
 * `vitest run <spec> -t "on MariaDB"` runs one kind.
 */
export function forEachDialect(body: (database: DatabaseServer) => void): void {
  const databases = DATABASE_KINDS.map(testDatabase);
  describe.each(databases.map((database) => [database.label, database] as const))('on %s', (_label, database) =>
    body(database),
  );
}
