import { type DdlStatement, definitionType, qualifiedPath } from './ddl-statement';
import type { DescribedTable } from './described-tables';
import type { RefusedStatement, SchemaPlan, SchemaStatement } from './schema-plan.types';

/**
 * What the database says about the objects a statement would drop or change (looked up only for those statements,
 * by the dialect's SchemaCatalog).
 */
export interface StatementFacts {
  /**
   * The kind of a dropped constraint, as PostgreSQL's `pg_constraint.contype` spells it: `p` primary key, `u` unique,
   * `c` check, `f` foreign key.
   */
  readonly constraintType?: string;
  /** The type of a dropped or changed column, as the database writes it (`format_type`, `COLUMN_TYPE`). */
  readonly columnType?: string;
  /** For a changed column: whether the statement gives it the type the table has (as the database compares types). */
  readonly sameType?: boolean;
  /** For a changed column: whether the table's column takes NULL. */
  readonly columnNullable?: boolean;
  /** The table (`schema.table`) of a dropped index. */
  readonly indexTable?: string;
}

/** A statement of TypeORM's schema builder, read, with the facts about what it would drop. */
export interface PlannedStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  readonly ddl: DdlStatement;
  readonly facts: StatementFacts;
}

/** The tables a plan is about. */
export interface PlanContext {
  /** By `schema.table`. */
  readonly tables: ReadonlyMap<string, DescribedTable>;
  /** Every index the entities declare, as `schema.name`, to its table. */
  readonly declaredIndexes: ReadonlyMap<string, string>;
  readonly currentSchema: string;
}

type Verdict = { readonly kind: 'allowed' | 'left-alone' } | { readonly kind: 'refused'; readonly why: string };

const allowed: Verdict = { kind: 'allowed' };
const leftAlone: Verdict = { kind: 'left-alone' };
const refused = (why: string): Verdict => ({ kind: 'refused', why });

const DIFFERENT_KEYS = "the file's keys differ from the table's primary key";

/** The table and column a statement is about, as `schema.table` (for an index: its table). */
function subject(statement: PlannedStatement, context: PlanContext): { table?: string; column?: string } {
  const { ddl } = statement;
  const { currentSchema } = context;
  switch (ddl.kind) {
    case 'create-schema':
    case 'other':
      return {};
    case 'drop-index':
      return {
        table:
          ddl.table !== undefined
            ? qualifiedPath(ddl.table, currentSchema)
            : (statement.facts.indexTable ?? context.declaredIndexes.get(qualifiedPath(ddl.index, currentSchema))),
      };
    case 'create-table':
    case 'create-index':
    case 'add-constraint':
    case 'drop-constraint':
      return { table: qualifiedPath(ddl.table, currentSchema) };
    case 'add-column':
    case 'drop-column':
    case 'rename-column':
    case 'alter-column':
    case 'change-column':
      return { table: qualifiedPath(ddl.table, currentSchema), column: ddl.column };
  }
}

/** Columns that TypeORM drops and adds back: its way to change a column's type. */
function retypedColumns(statements: readonly PlannedStatement[], currentSchema: string): Map<string, string> {
  const dropped = new Set<string>();
  const retyped = new Map<string, string>();
  for (const { ddl } of statements) {
    if (ddl.kind === 'drop-column') {
      dropped.add(`${qualifiedPath(ddl.table, currentSchema)}|${ddl.column}`);
    } else if (ddl.kind === 'add-column') {
      const key = `${qualifiedPath(ddl.table, currentSchema)}|${ddl.column}`;
      if (dropped.has(key)) {
        retyped.set(key, definitionType(ddl.definition));
      }
    }
  }

  return retyped;
}

function verdict(statement: PlannedStatement, context: PlanContext, retyped: ReadonlyMap<string, string>): Verdict {
  const { ddl, facts } = statement;
  const { table, column } = subject(statement, context);
  const newType = retyped.get(`${table}|${column}`);
  switch (ddl.kind) {
    case 'create-schema':
    case 'create-table':
    case 'create-index':
      return allowed;
    case 'add-column':
      if (newType !== undefined) {
        return refused(`it adds back the column it drops, as ${newType}`);
      }

      return /\bNOT NULL\b/i.test(ddl.definition) && !/\bDEFAULT\b/i.test(ddl.definition)
        ? refused('a column without a default cannot be NOT NULL in the rows that exist')
        : allowed;
    case 'drop-column':
      return newType !== undefined
        ? refused(`the file makes it ${newType} where the table has ${facts.columnType ?? 'another type'}`)
        : refused('the table has this column and the file does not list it');
    case 'rename-column':
      return refused(`the file lists ${ddl.to} instead, of the same type`);
    case 'alter-column':
      // A default someone set by hand changes nothing Spillway writes (it names every column it inserts).
      return /^DROP DEFAULT$/i.test(ddl.change.trim())
        ? leftAlone
        : refused(`the file declares the column otherwise (${ddl.change.trim()})`);
    case 'change-column':
      return changeVerdict(ddl.definition, facts);
    case 'add-constraint':
      return refused(/PRIMARY KEY/i.test(ddl.definition) ? DIFFERENT_KEYS : 'a constraint the table does not have');
    case 'drop-constraint':
      if (facts.constraintType === 'p') {
        return refused(DIFFERENT_KEYS);
      }

      return facts.constraintType === undefined ? refused('a constraint the database does not list') : leftAlone;
    case 'drop-index':
      if (context.declaredIndexes.has(qualifiedPath(ddl.index, context.currentSchema))) {
        return refused("the table's index of this name differs from the file's");
      }

      return facts.indexTable === undefined ? refused('an index the database does not list') : leftAlone;
    case 'other':
      return refused('not a statement that only adds');
  }
}

/**
 * MySQL's `CHANGE`, which writes a column's whole definition: TypeORM writes it for any difference it sees, also a
 * default or a comment someone set by hand, which changes nothing Spillway writes (it names every column it
 * inserts): that is left alone. A new type or nullability is refused.
 */
function changeVerdict(definition: string, facts: StatementFacts): Verdict {
  if (facts.columnType === undefined) {
    return refused('a column the database does not list');
  }
  if (facts.sameType !== true) {
    return refused(`the file makes it ${definitionType(definition)} where the table has ${facts.columnType}`);
  }
  const nullable = !/\bNOT NULL\b/i.test(definition);

  return nullable === facts.columnNullable
    ? leftAlone
    : refused(`the file declares the column otherwise (${definition.trim()})`);
}

function refusal(statement: PlannedStatement, context: PlanContext, why: string): RefusedStatement {
  const { table, column } = subject(statement, context);
  const origin = (table !== undefined && context.tables.get(table)?.origin) || 'database';
  const sql = statement.sql.replace(/\s+/g, ' ').trim();
  const where = [origin, table && `table ${table}`, column && `column ${column}`].filter(Boolean).join(': ');

  return {
    sql: statement.sql,
    parameters: statement.parameters,
    table,
    column,
    reason:
      `${where}: refusing "${sql}" (${why}; Spillway never drops, renames or retypes: ` +
      'change the table by hand or restore the file)',
  };
}

/**
 * Sorts the statements of a schema sync: those that only add are allowed; drops of what no file describes (an
 * index, a constraint other than the primary key, a default, all made by hand) are left alone; every other one, and
 * so every statement that could lose data, is refused.
 */
export function sortStatements(
  statements: readonly PlannedStatement[],
  context: PlanContext,
): Omit<SchemaPlan, 'pendingMigrations'> {
  const retyped = retypedColumns(statements, context.currentSchema);
  const plan = {
    allowed: [] as SchemaStatement[],
    refused: [] as RefusedStatement[],
    leftAlone: [] as SchemaStatement[],
  };
  for (const statement of statements) {
    const decided = verdict(statement, context, retyped);
    const { table } = subject(statement, context);
    switch (decided.kind) {
      case 'allowed':
        plan.allowed.push({ sql: statement.sql, parameters: statement.parameters, table });
        break;
      case 'left-alone':
        plan.leftAlone.push({ sql: statement.sql, parameters: statement.parameters, table });
        break;
      case 'refused':
        plan.refused.push(refusal(statement, context, decided.why));
        break;
    }
  }

  return plan;
}
