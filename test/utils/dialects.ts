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

/** Partitions of every collection when a suite runs on a Redis Cluster (SPILLWAY_PARTITIONS). */
export const CLUSTER_PARTITIONS = 8;

/** Where one run of a suite's tests stores: a database, and the run's single Redis or a Redis Cluster. */
export interface StoreVariant {
  database: DatabaseServer;
  /**
   * Set when the suite must start a Redis Cluster for this variant (3 masters, 3 replicas) and run every collection
   * with this many partitions on it; undefined: the run's single Redis, collections as their files say.
   */
  clusterPartitions?: number;
}

/**
 * {@link forEachDialect}, then the same bodies once more on a Redis Cluster with collections of
 * {@link CLUSTER_PARTITIONS} partitions and PostgreSQL, in a describe "on a Redis Cluster of 8 partitions with
 * PostgreSQL" (`-t "on a Redis Cluster"` runs it alone). `body` starts and stops the cluster itself (in its beforeAll
 * and afterAll), so a run filtered to another variant never starts one.
 */
export function forEachStore(body: (variant: StoreVariant) => void): void {
  forEachDialect((database) => body({ database }));
  const postgres = testDatabase('postgres');
  describe(`on a Redis Cluster of ${CLUSTER_PARTITIONS} partitions with ${postgres.label}`, () =>
    body({ database: postgres, clusterPartitions: CLUSTER_PARTITIONS }));
}
