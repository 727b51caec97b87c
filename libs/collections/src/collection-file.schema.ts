/** JSON Schema of a collection file itself (CONTRACT.md section 2). */
export const collectionFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind'],
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' },
    kind: { enum: ['document', 'event'] },
    table: { type: 'string', pattern: '^([a-z_][a-z0-9_]{0,62}\\.)?[a-z_][a-z0-9_]{0,62}$' },
    key: { type: 'string', minLength: 1, maxLength: 200 },
    schema: { type: 'object' },
  },
} as const;

export interface CollectionFile {
  name: string;
  kind: 'document' | 'event';
  table?: string;
  key?: string;
  schema?: Record<string, unknown>;
}
