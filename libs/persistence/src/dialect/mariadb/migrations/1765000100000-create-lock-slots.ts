import type { MigrationInterface, QueryRunner } from 'typeorm';

/** 2^20, the LOCK_SLOT_BITS of ../document-locks.ts (which says why so many). */
const SLOTS = 1_048_576;

/** The numbers 0 to 15 as a derived table with column `n`; five of them cross joined number the slots. */
const SIXTEEN = `(SELECT 0 AS n ${Array.from({ length: 15 }, (_, i) => `UNION ALL SELECT ${i + 1}`).join(' ')})`;

/**
 * `spillway_lock_slots`, the rows that writers lock documents with on MariaDB and MySQL (../document-locks.ts):
 * 1,048,576 slots numbered from 0, about 38 MB, filled in about 3 s. Filled in full here, because locking a missing row
 * takes only a gap lock, which excludes nobody. Run again, it adds the slots that are missing.
 */
export class CreateMariadbLockSlots1765000100000 implements MigrationInterface {
  name = 'CreateMariadbLockSlots1765000100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'CREATE TABLE IF NOT EXISTS `spillway_lock_slots` (`slot` int NOT NULL, PRIMARY KEY (`slot`)) ENGINE=InnoDB',
    );
    const [count] = (await queryRunner.query('SELECT COUNT(*) AS slots FROM `spillway_lock_slots`')) as [
      { slots: string | number },
    ];
    if (Number(count.slots) >= SLOTS) {
      return;
    }
    await queryRunner.query(`INSERT INTO \`spillway_lock_slots\` (\`slot\`)
      SELECT a.n * 65536 + b.n * 4096 + c.n * 256 + d.n * 16 + e.n
        FROM ${SIXTEEN} a CROSS JOIN ${SIXTEEN} b CROSS JOIN ${SIXTEEN} c CROSS JOIN ${SIXTEEN} d CROSS JOIN ${SIXTEEN} e
       WHERE TRUE -- without a WHERE, the parser reads ON DUPLICATE as the last join's ON
      ON DUPLICATE KEY UPDATE \`slot\` = \`slot\``);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE IF EXISTS `spillway_lock_slots`');
  }
}
