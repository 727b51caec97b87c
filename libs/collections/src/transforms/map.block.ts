import type { ProblemSink } from '../collection-file.problem';
import { isForbiddenName, isJsonObject, type JsonObject } from '../documents/field-path';
import { article, jsonTypeOf } from '../documents/json-type';
import { assertLanguage, type Expression } from '../expressions/expression';
import { expressionAt } from './block-parts';
import type { TransformBlockKind } from './transform-step';

/** A map's `expression` in its object form: each value an expression (or a nested object of them). */
type Template = { readonly [name: string]: Expression | Template };

function compileTemplate(def: Record<string, unknown>, sink: ProblemSink): Template | undefined {
  const template: Record<string, Expression | Template> = {};
  let complete = true;
  for (const [name, value] of Object.entries(def)) {
    let part: Expression | Template | undefined;
    if (isForbiddenName(name)) {
      sink.add(name, `"${name}" is not allowed as a name`);
    } else if (isJsonObject(value)) {
      part = compileTemplate(value, sink.at(name));
    } else if (typeof value === 'string') {
      // The language was checked once for the whole block.
      part = expressionAt(sink, sink, { expression: value }, name);
    } else {
      sink.add(name, 'must be an expression (a string) or an object of them');
    }
    if (part) {
      template[name] = part;
    } else {
      complete = false;
    }
  }

  return complete ? template : undefined;
}

function isExpression(part: Expression | Template): part is Expression {
  return typeof part.evaluate === 'function';
}

function fill(template: Template, doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, part] of Object.entries(template)) {
    out[name] = isExpression(part) ? part.evaluate(doc) : fill(part, doc);
  }

  return out;
}

/**
 * `map`: replaces the document by a new one, the value of `expression` (a JMESPath expression whose value is an
 * object, such as a multi-select hash `{id: id, name: name}`), or of each expression of `expression` in its object
 * form. The new document must keep the collection's key field: Spillway finds a document's rows by its id.
 */
export const mapBlock: TransformBlockKind = {
  uses: 'map',
  compile(def, context) {
    const sink = context.with;
    if (isJsonObject(def.expression)) {
      try {
        assertLanguage(def.language as string | undefined);
      } catch (e) {
        context.block.add('', (e as Error).message);

        return undefined;
      }
      const template = compileTemplate(def.expression, sink.at('expression'));

      return template && { where: context.where, apply: (doc) => fill(template, doc) };
    }
    const expression = expressionAt(sink, context.block, def);
    if (!expression) return undefined;

    return {
      where: context.where,
      apply: (doc) => {
        const value = expression.evaluate(doc);
        if (!isJsonObject(value)) {
          throw new Error(`the map expression gave ${article(jsonTypeOf(value))}, not an object`);
        }

        return value;
      },
    };
  },
};
