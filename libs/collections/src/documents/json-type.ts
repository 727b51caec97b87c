/** The JSON type of a value, as messages name it (never the value itself). */
export function jsonTypeOf(value: unknown): 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array' {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  if (type === 'string' || type === 'number' || type === 'boolean') return type;

  return type === 'bigint' ? 'number' : 'object';
}

/** "a string", "an object", "a uuid", … */
export function article(type: string): string {
  return /^[aeio]|^u(?!u)/.test(type) ? `an ${type}` : `a ${type}`;
}
