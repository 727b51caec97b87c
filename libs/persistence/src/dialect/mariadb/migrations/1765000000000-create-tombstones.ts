import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `spillway_tombstones` on MariaDB and MySQL, in the shape PostgreSQL's migrations end with
 * (dialect/postgres/migrations/1763800000000-create-tombstones.ts, then 1764000000000-index-tombstones-by-stream-ms-alone.ts):
 * the key (collection, id) serves the writes' lookups, the index on stream_ms the pruning. Keys are utf8mb4_bin, as
 * the state tables' ids: case-sensitive, as on PostgreSQL.
 */
export class CreateMariadbTombstones1765000000000 implements MigrationInterface {
  name = 'CreateMariadbTombstones1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS \`spillway_tombstones\` (
      \`collection\` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      \`id\` varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
      \`version\` bigint NOT NULL,
      \`stream_ms\` bigint NOT NULL,
      \`deleted_at\` datetime(6) NOT NULL,
      PRIMARY KEY (\`collection\`, \`id\`),
      KEY \`IDX_spillway_tombstones_stream_ms_alone\` (\`stream_ms\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE IF EXISTS `spillway_tombstones`');
  }
}
