type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * RFC 7396 JSON Merge Patch: members set to null are removed, objects merge, anything else replaces.
 *
 * Written here rather than taken from json-merge-patch 1.0.2, whose apply() stops at the first member named
 * "constructor", "prototype" or "__proto__" (dropping the rest of the patch while the write is still accepted) and
 * calls `target.hasOwnProperty()`, which throws for a document with a member of that name. Here every member name
 * is data: only own members are read, and members are defined, never assigned, so no name reaches a prototype.
 * Recursion is bounded by the body's depth limit (the ingest checks every document body before it gets here). Mutates and returns `target` when it is an
 * object.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) {
    return patch;
  }
  const result: JsonObject = isObject(target) ? target : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      const current = Object.hasOwn(result, key) ? result[key] : undefined;
      Object.defineProperty(result, key, {
        value: applyMergePatch(current, value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }

  return result;
}
