/**
 * How deep a stored document may nest (`{}` and `[]` are one level each, `{"a":{}}` is two).
 *
 * Measured limits: V8's JSON.parse is iterative and reads the ~524,000 levels a 1 MiB body can hold, but
 * JSON.stringify, the merge of a PATCH and Ajv recurse and overflow the stack a few thousand levels down (a
 * 5,000-level array already answered 500); PostgreSQL 15's jsonb input refuses about 19,960 levels with "stack depth
 * limit exceeded" at the default max_stack_depth of 2 MB; MariaDB 10.11's JSON check (JSON_VALID) stores 31 levels
 * and refuses 32 (2026-12). 31 levels is far beyond any real document and within all of those, so a document that
 * passes here is stored by every database Spillway writes to, in whichever a collection's connections are.
 */
export const MAX_DOCUMENT_DEPTH = 31;
