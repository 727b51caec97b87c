/**
 * The shape of one statement of TypeORM's PostgreSQL schema builder, read from its text: enough to tell a statement
 * that only adds from one that would drop, rename or retype, and to name its table and column in a message. The
 * patterns follow PostgresQueryRunner's output; anything else parses as `other` (which is refused).
 */
export type DdlStatement =
  | { readonly kind: 'create-schema' | 'other' }
  | { readonly kind: 'create-table'; readonly table: string }
  | { readonly kind: 'create-index'; readonly table: string; readonly name: string }
  | { readonly kind: 'add-column'; readonly table: string; readonly column: string; readonly definition: string }
  | { readonly kind: 'drop-column'; readonly table: string; readonly column: string }
  | { readonly kind: 'rename-column'; readonly table: string; readonly column: string; readonly to: string }
  | { readonly kind: 'alter-column'; readonly table: string; readonly column: string; readonly change: string }
  | { readonly kind: 'add-constraint'; readonly table: string; readonly name: string; readonly definition: string }
  | { readonly kind: 'drop-constraint'; readonly table: string; readonly name: string }
  /** `index` is the index's own path (an index lives in its table's schema). */
  | { readonly kind: 'drop-index'; readonly index: string };

/** A quoted identifier, with `""` for a quote inside. */
const ID = '"(?:[^"]|"")+"';
/** A table or index path as TypeORM writes it: `"schema"."name"`, or `"name"` in the connection's current schema. */
const PATH = `(${ID}(?:\\.${ID})?)`;
const NAME = `(${ID})`;

const PATTERNS: readonly [RegExp, (m: string[]) => DdlStatement][] = [
  [/^CREATE SCHEMA /i, () => ({ kind: 'create-schema' })],
  [new RegExp(`^CREATE TABLE ${PATH} \\(`, 'i'), ([, table]) => ({ kind: 'create-table', table: table ?? '' })],
  [
    new RegExp(`^CREATE (?:UNIQUE )?INDEX ${NAME} ON ${PATH}`, 'i'),
    ([, name, table]) => ({ kind: 'create-index', table: table ?? '', name: unquote(name) }),
  ],
  [
    new RegExp(`^ALTER TABLE ${PATH} ADD CONSTRAINT ${NAME} (.*)$`, 'is'),
    ([, table, name, definition]) => ({
      kind: 'add-constraint',
      table: table ?? '',
      name: unquote(name),
      definition: definition ?? '',
    }),
  ],
  [
    new RegExp(`^ALTER TABLE ${PATH} ADD ${NAME} (.*)$`, 'is'),
    ([, table, column, definition]) => ({
      kind: 'add-column',
      table: table ?? '',
      column: unquote(column),
      definition: definition ?? '',
    }),
  ],
  [
    new RegExp(`^ALTER TABLE ${PATH} DROP COLUMN ${NAME}$`, 'i'),
    ([, table, column]) => ({ kind: 'drop-column', table: table ?? '', column: unquote(column) }),
  ],
  [
    new RegExp(`^ALTER TABLE ${PATH} RENAME COLUMN ${NAME} TO ${NAME}$`, 'i'),
    ([, table, column, to]) => ({
      kind: 'rename-column',
      table: table ?? '',
      column: unquote(column),
      to: unquote(to),
    }),
  ],
  [
    new RegExp(`^ALTER TABLE ${PATH} ALTER COLUMN ${NAME} (.*)$`, 'is'),
    ([, table, column, change]) => ({
      kind: 'alter-column',
      table: table ?? '',
      column: unquote(column),
      change: change ?? '',
    }),
  ],
  [
    new RegExp(`^ALTER TABLE ${PATH} DROP CONSTRAINT ${NAME}$`, 'i'),
    ([, table, name]) => ({ kind: 'drop-constraint', table: table ?? '', name: unquote(name) }),
  ],
  [new RegExp(`^DROP INDEX ${PATH}$`, 'i'), ([, index]) => ({ kind: 'drop-index', index: index ?? '' })],
];

function unquote(quoted: string | undefined): string {
  return (quoted ?? '').slice(1, -1).replace(/""/g, '"');
}

/** Reads one statement of TypeORM's PostgreSQL schema builder. */
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

/** A table or index path of a statement as `schema.name`; TypeORM leaves the connection's current schema out. */
export function qualifiedPath(path: string, currentSchema: string): string {
  const parts = [...path.matchAll(new RegExp(ID, 'g'))].map((m) => unquote(m[0]));

  return parts.length === 1 ? `${currentSchema}.${parts[0]}` : parts.join('.');
}
