import { readFileSync } from 'node:fs';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
import { parse as parseYaml } from 'yaml';

/** An OpenAPI v3 schema node as a CustomResourceDefinition holds it (a structural schema). */
type SchemaNode = { [keyword: string]: unknown };

interface CustomResourceDefinition {
  kind: string;
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema: { openAPIV3Schema: SchemaNode } }[];
  };
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

/**
 * The JSON Schema that checks an object as the API server checks a custom resource against its CRD's
 * `openAPIV3Schema` when `kubectl apply` runs with its default strict field validation: types, formats, enums,
 * bounds and required fields, and an unknown field is an error wherever the schema lists `properties` (unless the
 * node says `x-kubernetes-preserve-unknown-fields`). The `x-kubernetes-*` markers and descriptions are dropped.
 */
export function crdNodeToJsonSchema(node: SchemaNode): SchemaNode {
  const out: SchemaNode = {};
  for (const [keyword, value] of Object.entries(node)) {
    if (keyword === 'description' || keyword.startsWith('x-kubernetes-')) {
      continue;
    }
    if (keyword === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, SchemaNode>).map(([name, child]) => [name, crdNodeToJsonSchema(child)]),
      );
    } else if (keyword === 'items' || (keyword === 'additionalProperties' && typeof value === 'object')) {
      out[keyword] = crdNodeToJsonSchema(value as SchemaNode);
    } else if (keyword === 'anyOf' || keyword === 'allOf' || keyword === 'oneOf') {
      out[keyword] = (value as SchemaNode[]).map(crdNodeToJsonSchema);
    } else {
      out[keyword] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true && !node.anyOf) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node.properties && node.additionalProperties === undefined && !node['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }

  return out;
}

function problemLine(error: ErrorObject): string {
  const at = error.instancePath || '/';
  const extra = (error.params as { additionalProperty?: string }).additionalProperty;

  return extra === undefined ? `${at} ${error.message ?? error.keyword}` : `${at} has unknown field "${extra}"`;
}

/**
 * Validators for the kinds that bundled CustomResourceDefinitions declare (e.g. KEDA's ScaledObject), so manifests of
 * custom resources are checked offline, with the same strictness as the Kubernetes kinds' models.
 */
export class CrdSchemas {
  private readonly ajv = new Ajv({ allErrors: true, strict: true });
  private readonly validators = new Map<string, ValidateFunction>();

  /** The CRD files, parsed, for a check that they are valid CustomResourceDefinitions themselves. */
  readonly definitions: CustomResourceDefinition[];

  constructor(files: string[]) {
    addFormats(this.ajv, ['date-time']);
    this.ajv.addFormat('int32', {
      type: 'number',
      validate: (n: number) => Number.isInteger(n) && n >= INT32.min && n <= INT32.max,
    });
    this.definitions = files.map((file) => parseYaml(readFileSync(file, 'utf8')) as CustomResourceDefinition);
    for (const crd of this.definitions) {
      for (const version of crd.spec.versions.filter((v) => v.served)) {
        const key = `${crd.spec.group}/${version.name}/${crd.spec.names.kind}`;
        this.validators.set(key, this.ajv.compile(crdNodeToJsonSchema(version.schema.openAPIV3Schema)));
      }
    }
  }

  /** Whether a bundled CRD declares this `apiVersion` (group/version) and kind. */
  has(apiVersion: string, kind: string): boolean {
    return this.validators.has(`${apiVersion}/${kind}`);
  }

  /**
   * What the API server would refuse in this object, one line each; empty when it is valid. `metadata` is checked
   * against ObjectMeta, as for every kind.
   */
  problems(obj: { apiVersion: string; kind: string; metadata?: unknown }): string[] {
    const validate = this.validators.get(`${obj.apiVersion}/${obj.kind}`);
    if (!validate) {
      throw new Error(`no bundled CustomResourceDefinition for ${obj.apiVersion}/${obj.kind}`);
    }
    const problems = validate(obj) ? [] : (validate.errors ?? []).map(problemLine);
    try {
      new ObjectMeta(obj.metadata as Record<string, unknown>).validate();
    } catch (e) {
      problems.push(`/metadata ${(e as Error).message}`);
    }

    return problems;
  }
}
