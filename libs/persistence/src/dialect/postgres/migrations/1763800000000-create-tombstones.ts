import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateTombstones1763800000000 implements MigrationInterface {
  name = 'CreateTombstones1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS "spillway_tombstones" (
      "collection" text NOT NULL,
      "id" text NOT NULL,
      "version" bigint NOT NULL,
      "stream_ms" bigint NOT NULL,
      "deleted_at" timestamptz NOT NULL,
      CONSTRAINT "PK_spillway_tombstones" PRIMARY KEY ("collection", "id")
    )`);
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS "IDX_spillway_tombstones_stream_ms" ON "spillway_tombstones" ("collection", "stream_ms")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "spillway_tombstones"`);
  }
}
