/**
 * The shape of one statement of TypeORM's schema builder, read from its text: enough to tell a statement that only
 * adds from one that would drop, rename or retype, and to name its table and column in a message. The patterns
 * follow PostgresQueryRunner's output (`"quoted"` names) and MysqlQueryRunner's (`` `quoted` `` names, for MariaDB
 * and MySQL); anything else parses as `other` (which is refused).
 */
export type DdlStatement =
  | { readonly kind: 'create-schema' | 'other' }
  | { readonly kind: 'create-table'; readonly table: string }
  | { readonly kind: 'create-index'; readonly table: string; readonly name: string }
  | { readonly kind: 'add-column'; readonly table: string; readonly column: string; readonly definition: string }
  | { readonly kind: 'drop-column'; readonly table: string; readonly column: string }
  | { readonly kind: 'rename-column'; readonly table: string; readonly column: string; readonly to: string }
  /** PostgreSQL's `ALTER COLUMN … <change>`: one property of the column. */
  | { readonly kind: 'alter-column'; readonly table: string; readonly column: string; readonly change: string }
  /** MySQL's `CHANGE c c <definition>` or `MODIFY c <definition>`: the column's whole definition, anew. */
  | { readonly kind: 'change-column'; readonly table: string; readonly column: string; readonly definition: string }
  /** A primary key is the constraint `PRIMARY` on MariaDB and MySQL (`ADD PRIMARY KEY`, `DROP PRIMARY KEY`). */
  | { readonly kind: 'add-constraint'; readonly table: string; readonly name: string; readonly definition: string }
  | { readonly kind: 'drop-constraint'; readonly table: string; readonly name: string }
  /**
   * `index` is the index's own path (an index lives in its table's schema); `table` is its table, where the
   * statement names it (MySQL's `DROP INDEX … ON …`).
   */
  | { readonly kind: 'drop-index'; readonly index: string; readonly table?: string };

/** The name TypeORM, MariaDB and MySQL give every primary key there. */
export const MYSQL_PRIMARY_KEY = 'PRIMARY';

/** A quoted identifier: `"name"` with `""` for a quote inside (PostgreSQL), or `` `name` `` with ` `` ` (MySQL). */
const ID = '(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`)';
/** A table or index path as TypeORM writes it: `"schema"."name"`, or `"name"` in the connection's current schema. */
const PATH = `(${ID}(?:\\.${ID})?)`;
const NAME = `(${ID})`;
const ALTER = `^ALTER TABLE ${PATH}`;

const PATTERNS: readonly [RegExp, (m: string[]) => DdlStatement][] = [
  [/^CREATE (?:SCHEMA|DATABASE) /i, () => ({ kind: 'create-schema' })],
  [new RegExp(`^CREATE TABLE ${PATH} \\(`, 'i'), ([, table]) => ({ kind: 'create-table', table: table ?? '' })],
  [
    new RegExp(`^CREATE (?:UNIQUE )?INDEX ${NAME} ON ${PATH}`, 'i'),
    ([, name, table]) => ({ kind: 'create-index', table: table ?? '', name: unquote(name) }),
  ],
  [
    new RegExp(`${ALTER} ADD (?:UNIQUE )?INDEX ${NAME}`, 'i'),
    ([, table, name]) => ({ kind: 'create-index', table: table ?? '', name: unquote(name) }),
  ],
  [
    new RegExp(`${ALTER} ADD CONSTRAINT ${NAME} (.*)$`, 'is'),
    ([, table, name, definition]) => ({
      kind: 'add-constraint',
      table: table ?? '',
      name: unquote(name),
      definition: definition ?? '',
    }),
  ],
  [
    new RegExp(`${ALTER} ADD (PRIMARY KEY .*)$`, 'is'),
    ([, table, definition]) => ({
      kind: 'add-constraint',
      table: table ?? '',
      name: MYSQL_PRIMARY_KEY,
      definition: definition ?? '',
    }),
  ],
  [
    new RegExp(`${ALTER} ADD (?:COLUMN )?${NAME} (.*)$`, 'is'),
    ([, table, column, definition]) => ({
      kind: 'add-column',
      table: table ?? '',
      column: unquote(column),
      definition: definition ?? '',
    }),
  ],
  [
    new RegExp(`${ALTER} DROP COLUMN ${NAME}$`, 'i'),
    ([, table, column]) => ({ kind: 'drop-column', table: table ?? '', column: unquote(column) }),
  ],
  [
    new RegExp(`${ALTER} RENAME COLUMN ${NAME} TO ${NAME}$`, 'i'),
    ([, table, column, to]) => ({
      kind: 'rename-column',
      table: table ?? '',
      column: unquote(column),
      to: unquote(to),
    }),
  ],
  [
    new RegExp(`${ALTER} CHANGE (?:COLUMN )?${NAME} ${NAME} (.*)$`, 'is'),
    ([, table, column, to, definition]) =>
      unquote(column) === unquote(to)
        ? { kind: 'change-column', table: table ?? '', column: unquote(column), definition: definition ?? '' }
        : { kind: 'rename-column', table: table ?? '', column: unquote(column), to: unquote(to) },
  ],
  [
    new RegExp(`${ALTER} MODIFY (?:COLUMN )?${NAME} (.*)$`, 'is'),
    ([, table, column, definition]) => ({
      kind: 'change-column',
      table: table ?? '',
      column: unquote(column),
      definition: definition ?? '',
    }),
  ],
  [
    new RegExp(`${ALTER} ALTER COLUMN ${NAME} (.*)$`, 'is'),
    ([, table, column, change]) => ({
      kind: 'alter-column',
      table: table ?? '',
      column: unquote(column),
      change: change ?? '',
    }),
  ],
  [
    new RegExp(`${ALTER} DROP (?:CONSTRAINT|FOREIGN KEY) ${NAME}$`, 'i'),
    ([, table, name]) => ({ kind: 'drop-constraint', table: table ?? '', name: unquote(name) }),
  ],
  [
    new RegExp(`${ALTER} DROP PRIMARY KEY$`, 'i'),
    ([, table]) => ({ kind: 'drop-constraint', table: table ?? '', name: MYSQL_PRIMARY_KEY }),
  ],
  [
    new RegExp(`${ALTER} DROP INDEX ${NAME}$`, 'i'),
    ([, table, name]) => ({ kind: 'drop-index', index: indexPath(table, name), table: table ?? '' }),
  ],
  [
    new RegExp(`^DROP INDEX ${NAME} ON ${PATH}$`, 'i'),
    ([, name, table]) => ({ kind: 'drop-index', index: indexPath(table, name), table: table ?? '' }),
  ],
  [new RegExp(`^DROP INDEX ${PATH}$`, 'i'), ([, index]) => ({ kind: 'drop-index', index: index ?? '' })],
];

function unquote(quoted: string | undefined): string {
  const text = quoted ?? '';
  const quote = text.charAt(0);

  return text.slice(1, -1).replaceAll(quote + quote, quote);
}

/** The quoted path of an index a statement names by its table: in the table's schema (MySQL names it per table). */
function indexPath(table: string | undefined, name: string | undefined): string {
  const parts = [...(table ?? '').matchAll(new RegExp(ID, 'g'))].map((m) => m[0]);

  return parts.length > 1 ? `${parts[0]}.${name ?? ''}` : (name ?? '');
}

/** Reads one statement of TypeORM's schema builder (PostgreSQL, or MariaDB and MySQL). */
export function parseDdl(sql: string): DdlStatement {
  const text = sql.trim();
  for (const [pattern, shape] of PATTERNS) {
    const match = pattern.exec(text);
    if (match) {
      return shape([...match]);
    }
  }

  return { kind: 'other' };
}

/** A table or index path of a statement as its schema and name; TypeORM leaves the connection's current schema out. */
export function pathParts(path: string, currentSchema: string): { schema: string; name: string } {
  const [first = '', second] = [...path.matchAll(new RegExp(ID, 'g'))].map((m) => unquote(m[0]));

  return second === undefined ? { schema: currentSchema, name: first } : { schema: first, name: second };
}

/** A table or index path of a statement as `schema.name`; TypeORM leaves the connection's current schema out. */
export function qualifiedPath(path: string, currentSchema: string): string {
  const { schema, name } = pathParts(path, currentSchema);

  return `${schema}.${name}`;
}

/**
 * The type a column definition gives (`integer`, `longtext`, `decimal(65,30)`): its text up to the first clause
 * that is not the type (charset, collation, nullability, default, key).
 */
export function definitionType(definition: string): string {
  return definition
    .replace(/\s+(?:CHARACTER SET|COLLATE|NOT NULL|NULL|DEFAULT|COMMENT|PRIMARY KEY|AUTO_INCREMENT)\b.*$/is, '')
    .trim()
    .toLowerCase();
}
