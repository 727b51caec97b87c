import type { ErrorObject } from 'ajv';
import type { ProblemSink } from './collection-file.problem';

/** `/output/0/with/keys/1` → `output[0].with.keys[1]`. */
function toPath(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment),
      '',
    );
}

function describe(error: ErrorObject): { path: string; reason: string } {
  const at = toPath(error.instancePath);
  const under = (name: string) => (at ? `${at}.${name}` : name);
  switch (error.keyword) {
    case 'required':
      return { path: under(String(error.params.missingProperty)), reason: error.message ?? 'is required' };
    case 'additionalProperties':
      return { path: under(String(error.params.additionalProperty)), reason: 'is not a known field' };
    case 'type':
      return { path: at, reason: `must be ${String(error.params.type).split(',').join(' or ')}` };
    default:
      return { path: at, reason: error.message ?? 'is invalid' };
  }
}

/** Reports Ajv's errors (with allErrors) as problems, one per field, without the if/then/else bookkeeping. */
export function reportSchemaErrors(errors: readonly ErrorObject[] | null | undefined, sink: ProblemSink): void {
  const seen = new Set<string>();
  for (const error of errors ?? []) {
    if (error.keyword === 'if') continue;
    const { path, reason } = describe(error);
    const line = `${path}\n${reason}`;
    if (seen.has(line)) continue;
    seen.add(line);
    sink.add(path, reason);
  }
}

/** Whether every error is an unknown field: the rest of the part can still be checked, to report all at once. */
export function onlyUnknownFields(errors: readonly ErrorObject[] | null | undefined): boolean {
  return (errors ?? []).every((error) => error.keyword === 'additionalProperties');
}
