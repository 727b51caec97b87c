/**
 * How deep a stored document may nest (`{}` and `[]` are one level each, `{"a":{}}` is two).
 *
 * Measured limits (2026-11, Node 20.19, PostgreSQL 15): V8's JSON.parse is iterative and reads the ~524,000 levels
 * a 1 MiB body can hold, but JSON.stringify, the merge of a PATCH and Ajv recurse and overflow the stack a few
 * thousand levels down (a 5,000-level array already answered 500); PostgreSQL's jsonb input refuses about 19,960
 * levels with "stack depth limit exceeded" at the default max_stack_depth of 2 MB. 100 levels is far beyond any
 * real document and far below all of those, so a document that passes here is safe everywhere downstream.
 */
export const MAX_DOCUMENT_DEPTH = 100;
