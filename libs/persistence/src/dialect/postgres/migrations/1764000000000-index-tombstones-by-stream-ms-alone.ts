import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Replaces the pruning index on (collection, stream_ms) with one on stream_ms alone.
 *
 * The write function looks each document's tombstone up by (collection, id). Statistics taken while the table held
 * a single row call every column unique, so `collection = $1` looks like one row however large the table grows;
 * the old index then cost the same as the primary key, the planner took the smaller one, and each document of a
 * batch read every tombstone of its collection (300 puts took 343 ms against 5,000 tombstones, 4.4 s against
 * 50,000). An index that does not start with collection cannot serve that lookup, so the key is the only index
 * left for it. Pruning (`collection = $1 AND stream_ms < $2`) reads the new index by stream_ms.
 */
export class IndexTombstonesByStreamMsAlone1764000000000 implements MigrationInterface {
  name = 'IndexTombstonesByStreamMsAlone1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS "IDX_spillway_tombstones_stream_ms_alone" ON "spillway_tombstones" ("stream_ms")`,
    );
    await queryRunner.query(`DROP INDEX IF EXISTS "IDX_spillway_tombstones_stream_ms"`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX IF NOT EXISTS "IDX_spillway_tombstones_stream_ms" ON "spillway_tombstones" ("collection", "stream_ms")`,
    );
    await queryRunner.query(`DROP INDEX IF EXISTS "IDX_spillway_tombstones_stream_ms_alone"`);
  }
}
