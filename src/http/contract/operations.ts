import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The contract. `npm run build` copies it next to dist/src, so this relative path holds for both trees. */
export const OPENAPI_SPEC_PATH = fileURLToPath(new URL('../../../openapi-internal.yaml', import.meta.url));

export type JsonSchema = Record<string, unknown>;
type Node = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  /** Query only: the value may carry reserved characters unencoded (`@`, `:`). */
  allowReserved: boolean;
  schema: JsonSchema;
}

/** One method on one path of the contract, with its `$ref`s to parameters resolved. */
export interface Operation {
  id: string;
  method: string;
  /** The contract's path template: /v1/accounts/{apiKey}/secrets */
  template: string;
  parameters: Parameter[];
  body?: { required: boolean; mediaTypes: Record<string, JsonSchema> };
}

export interface Contract {
  text: string;
  document: Node;
  operations: Operation[];
  /** Component schemas by name, for `$ref: '#/components/schemas/…'`. */
  schemas: Record<string, JsonSchema>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Follows a local `$ref` (`#/components/parameters/ApiKey`); the contract uses no remote ones. */
function resolve(document: Node, node: Node): Node {
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  const target = ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>(
      (at, key) => (at as Node | undefined)?.[key.replaceAll('~1', '/').replaceAll('~0', '~')],
      document,
    );
  if (target === undefined) throw new Error(`openapi-internal.yaml: unresolved $ref ${ref}`);
  return resolve(document, target as Node);
}

function parameterOf(document: Node, raw: Node): Parameter {
  const p = resolve(document, raw);
  const location = p.in;
  if (location !== 'path' && location !== 'query' && location !== 'header') {
    throw new Error(
      `openapi-internal.yaml: parameter ${String(p.name)} is in ${String(location)}, which is not supported`,
    );
  }
  const name = String(p.name);
  return {
    name: location === 'header' ? name.toLowerCase() : name,
    in: location,
    required: p.required === true,
    allowReserved: p.allowReserved === true,
    schema: (p.schema ?? {}) as JsonSchema,
  };
}

function bodyOf(document: Node, raw: unknown): Operation['body'] {
  if (raw === undefined) return undefined;
  const body = resolve(document, raw as Node);
  const content = (body.content ?? {}) as Record<string, Node>;
  const mediaTypes = Object.fromEntries(Object.entries(content).map(([type, media]) => [type, media.schema ?? {}]));
  return { required: body.required === true, mediaTypes: mediaTypes as Record<string, JsonSchema> };
}

function operationsOf(document: Node): Operation[] {
  return Object.entries(document.paths as Record<string, Node>).flatMap(([template, item]) => {
    const shared = (item.parameters ?? []) as Node[];
    return METHODS.filter((method) => item[method] !== undefined).map((method) => {
      const op = item[method] as Node;
      const parameters = [...shared, ...((op.parameters ?? []) as Node[])].map((p) => parameterOf(document, p));
      return {
        id: String(op.operationId),
        method: method.toUpperCase(),
        template,
        parameters,
        body: bodyOf(document, op.requestBody),
      };
    });
  });
}

/** Reads and parses the contract once; the server, the validator and the contract routes share it. */
export function loadContract(path = OPENAPI_SPEC_PATH): Contract {
  const text = readFileSync(path, 'utf8');
  const document = parse(text) as Node;
  const schemas = ((document.components as Node | undefined)?.schemas ?? {}) as Record<string, JsonSchema>;
  return { text, document, operations: operationsOf(document), schemas };
}
