import { parseDdl } from './ddl-statement';
import type { DescribedTable } from './described-tables';
import { type PlannedStatement, sortStatements, type StatementFacts } from './statement-verdicts';

/**
 * The sorting of TypeORM's schema statements, on the statement shapes its PostgreSQL query runner writes, and its
 * MySQL query runner (MariaDB and MySQL) writes.
 */
describe(sortStatements.name, () => {
  const table = { origin: 'collection file c.yaml', schema: 'app', table: 'facts' } as DescribedTable;
  const context = {
    tables: new Map([['app.facts', table]]),
    declaredIndexes: new Map([['app.IDX_facts_owner', 'app.facts']]),
    currentSchema: 'public',
  };
  const statement = (sql: string, facts: StatementFacts = {}): PlannedStatement => ({
    sql,
    parameters: [],
    ddl: parseDdl(sql),
    facts,
  });
  const sort = (...statements: PlannedStatement[]) => sortStatements(statements, context);

  it('allows what only adds', () => {
    const sql = [
      'CREATE SCHEMA IF NOT EXISTS "app"',
      'CREATE TABLE "app"."facts" ("id" text NOT NULL, CONSTRAINT "PK_1" PRIMARY KEY ("id"))',
      'CREATE INDEX "IDX_facts_owner" ON "app"."facts"  ("id") ',
      'ALTER TABLE "app"."facts" ADD "note" text',
      'ALTER TABLE "app"."facts" ADD "n" integer NOT NULL DEFAULT 0',
    ];

    const plan = sort(...sql.map((s) => statement(s)));

    expect(plan.allowed.map((s) => s.sql)).toEqual(sql);
    expect(plan.allowed.map((s) => s.table)).toEqual([undefined, 'app.facts', 'app.facts', 'app.facts', 'app.facts']);
    expect(plan.refused).toEqual([]);
  });

  it.each([
    ['ALTER TABLE "app"."facts" ADD "k" text NOT NULL', 'k', 'a column without a default cannot be NOT NULL'],
    ['ALTER TABLE "app"."facts" DROP COLUMN "note"', 'note', 'the table has this column and the file does not list it'],
    ['ALTER TABLE "app"."facts" RENAME COLUMN "a" TO "b"', 'a', 'the file lists b instead'],
    ['ALTER TABLE "app"."facts" ALTER COLUMN "a" SET NOT NULL', 'a', 'the file declares the column otherwise'],
    ['ALTER TABLE "app"."facts" ALTER COLUMN "a" TYPE text', 'a', 'the file declares the column otherwise'],
    ['ALTER TABLE "app"."facts" ADD CONSTRAINT "PK_2" PRIMARY KEY ("id", "n")', undefined, "the file's keys differ"],
    ['DROP INDEX "app"."IDX_facts_owner"', undefined, "the table's index of this name differs"],
  ])('refuses %s', (sql, column, why) => {
    const { refused, allowed } = sort(statement(sql), statement('ALTER TABLE "app"."facts" ADD "extra" text'));

    expect(refused).toHaveLength(1);
    expect(refused[0]?.column).toBe(column);
    expect(refused[0]?.reason).toContain(why);
    expect(refused[0]?.reason).toMatch(/^collection file c\.yaml: table app\.facts: /);
    expect(allowed).toHaveLength(1);
  });

  it('refuses a statement it cannot read, naming no table', () => {
    const { refused } = sort(statement('TRUNCATE TABLE "app"."facts"'));

    expect(refused.map((r) => r.reason)).toEqual([
      'database: refusing "TRUNCATE TABLE "app"."facts"" (not a statement that only adds; Spillway never drops, ' +
        'renames or retypes: change the table by hand or restore the file)',
    ]);
  });

  it('names a retype, which TypeORM writes as a drop and an add of the column', () => {
    const { refused, allowed } = sort(
      statement('ALTER TABLE "app"."facts" DROP COLUMN "amount"', { columnType: 'integer' }),
      statement('ALTER TABLE "app"."facts" ADD "amount" text'),
    );

    expect(allowed).toEqual([]);
    expect(refused.map((r) => r.reason)).toEqual([
      'collection file c.yaml: table app.facts: column amount: refusing "ALTER TABLE "app"."facts" DROP COLUMN ' +
        '"amount"" (the file makes it text where the table has integer; Spillway never drops, renames or ' +
        'retypes: change the table by hand or restore the file)',
      'collection file c.yaml: table app.facts: column amount: refusing "ALTER TABLE "app"."facts" ADD "amount" ' +
        'text" (it adds back the column it drops, as text; Spillway never drops, renames or retypes: change the ' +
        'table by hand or restore the file)',
    ]);
  });

  it('refuses dropping the primary key, and leaves alone the constraints, indexes and defaults made by hand', () => {
    const plan = sort(
      statement('ALTER TABLE "app"."facts" DROP CONSTRAINT "PK_1"', { constraintType: 'p' }),
      statement('ALTER TABLE "app"."facts" DROP CONSTRAINT "my_check"', { constraintType: 'c' }),
      statement('ALTER TABLE "app"."facts" DROP CONSTRAINT "my_fk"', { constraintType: 'f' }),
      statement('DROP INDEX "app"."my_index"', { indexTable: 'app.facts' }),
      statement('ALTER TABLE "app"."facts" ALTER COLUMN "note" DROP DEFAULT'),
    );

    expect(plan.refused.map((r) => r.sql)).toEqual(['ALTER TABLE "app"."facts" DROP CONSTRAINT "PK_1"']);
    expect(plan.leftAlone.map((s) => [s.sql, s.table])).toEqual([
      ['ALTER TABLE "app"."facts" DROP CONSTRAINT "my_check"', 'app.facts'],
      ['ALTER TABLE "app"."facts" DROP CONSTRAINT "my_fk"', 'app.facts'],
      ['DROP INDEX "app"."my_index"', 'app.facts'],
      ['ALTER TABLE "app"."facts" ALTER COLUMN "note" DROP DEFAULT', 'app.facts'],
    ]);
  });

  it("reads a path without a schema as the connection's current schema", () => {
    const { refused } = sortStatements([statement('ALTER TABLE "facts" DROP COLUMN "x"')], {
      ...context,
      currentSchema: 'app',
    });

    expect(refused[0]?.reason).toMatch(/^collection file c\.yaml: table app\.facts: column x: /);
  });

  describe('on MariaDB and MySQL', () => {
    const at = (sql: string) => sql.replaceAll('TABLE', 'TABLE `app`.`facts`');

    it('allows what only adds', () => {
      const sql = [
        'CREATE DATABASE IF NOT EXISTS `app`',
        'CREATE TABLE `app`.`facts` (`id` varchar(255) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB',
        'CREATE INDEX `IDX_facts_owner` ON `app`.`facts` (`id`)',
        'ALTER TABLE `app`.`facts` ADD `note` longtext CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NULL',
      ];

      const plan = sort(...sql.map((s) => statement(s)));

      expect(plan.allowed.map((s) => s.table)).toEqual([undefined, 'app.facts', 'app.facts', 'app.facts']);
      expect(plan.refused).toEqual([]);
    });

    it.each([
      [at('ALTER TABLE DROP COLUMN `note`'), {}, 'note', 'the table has this column and the file does not list it'],
      [at('ALTER TABLE CHANGE `a` `b` int NULL'), {}, 'a', 'the file lists b instead'],
      [
        at('ALTER TABLE CHANGE `a` `a` int NOT NULL'),
        { columnType: 'int(11)', sameType: true, columnNullable: true },
        'a',
        'the file declares the column otherwise (int NOT NULL)',
      ],
      [
        at('ALTER TABLE MODIFY `a` decimal(65,30) NULL'),
        { columnType: 'decimal(10,0)', sameType: false, columnNullable: true },
        'a',
        'the file makes it decimal(65,30) where the table has decimal(10,0)',
      ],
      [at('ALTER TABLE DROP PRIMARY KEY'), { constraintType: 'p' }, undefined, "the file's keys differ"],
      [at('ALTER TABLE ADD PRIMARY KEY (`id`, `n`)'), {}, undefined, "the file's keys differ"],
      [
        'DROP INDEX `IDX_facts_owner` ON `app`.`facts`',
        { indexTable: 'app.facts' },
        undefined,
        "the table's index of this name differs",
      ],
    ])('refuses %s', (sql, facts: StatementFacts, column, why) => {
      const { refused, allowed } = sort(statement(sql, facts), statement(at('ALTER TABLE ADD `extra` longtext NULL')));

      expect(refused).toHaveLength(1);
      expect(refused[0]?.column).toBe(column);
      expect(refused[0]?.reason).toContain(why);
      expect(refused[0]?.reason).toMatch(/^collection file c\.yaml: table app\.facts: /);
      expect(allowed).toHaveLength(1);
    });

    it('names a retype, and leaves alone foreign keys, indexes, defaults and comments made by hand', () => {
      const plan = sort(
        statement(at('ALTER TABLE DROP COLUMN `amount`'), { columnType: 'int(11)' }),
        statement(at('ALTER TABLE ADD `amount` longtext CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NULL')),
        statement(at('ALTER TABLE DROP FOREIGN KEY `my_fk`'), { constraintType: 'f' }),
        statement('DROP INDEX `my_index` ON `app`.`facts`', { indexTable: 'app.facts' }),
        statement(at('ALTER TABLE DROP INDEX `my_unique`'), { indexTable: 'app.facts' }),
        statement(at('ALTER TABLE CHANGE `note` `note` longtext NULL'), {
          columnType: 'longtext',
          sameType: true,
          columnNullable: true,
        }),
      );

      expect(plan.refused.map((r) => r.reason.slice(0, r.reason.indexOf(';')))).toEqual([
        'collection file c.yaml: table app.facts: column amount: refusing "ALTER TABLE `app`.`facts` DROP COLUMN ' +
          '`amount`" (the file makes it longtext where the table has int(11)',
        'collection file c.yaml: table app.facts: column amount: refusing "ALTER TABLE `app`.`facts` ADD `amount` ' +
          'longtext CHARACTER SET "utf8mb4" COLLATE "utf8mb4_bin" NULL" (it adds back the column it drops, as longtext',
      ]);
      expect(plan.leftAlone.map((s) => s.table)).toEqual(['app.facts', 'app.facts', 'app.facts', 'app.facts']);
      expect(plan.allowed).toEqual([]);
    });

    it("reads a path without a database as the connection's current database", () => {
      const { refused } = sortStatements([statement('ALTER TABLE `facts` DROP COLUMN `x`')], {
        ...context,
        currentSchema: 'app',
      });

      expect(refused[0]?.reason).toMatch(/^collection file c\.yaml: table app\.facts: column x: /);
    });
  });
});
