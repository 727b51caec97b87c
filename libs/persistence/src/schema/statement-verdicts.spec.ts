import { parseDdl } from './ddl-statement';
import type { DescribedTable } from './described-tables';
import { type PlannedStatement, sortStatements, type StatementFacts } from './statement-verdicts';

/** The sorting of TypeORM's schema statements, on the statement shapes its PostgreSQL query runner writes. */
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
});
