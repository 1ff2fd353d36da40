import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Contract, JsonSchema, Operation, Parameter } from './operations.ts';

/**
 * The contract's schemas, compiled once at start: one validator per operation and location. A
 * request then costs a Map lookup and the compiled checks, with no route resolution of its own.
 */

export interface CompiledOperation {
  operation: Operation;
  path: ValidateFunction;
  /** Coerces on a copy: query values arrive as strings (`limit=5`, `full=true`). */
  query: ValidateFunction;
  headers: ValidateFunction;
  /** Query parameters whose raw value must not carry reserved characters (no allowReserved). */
  encodedOnly: Set<string>;
  /** Query parameters that may be given only once (all but those the contract declares as arrays). */
  scalarQuery: Set<string>;
  body?: { required: boolean; mediaTypes: string[]; validators: Map<string, ValidateFunction> };
}

const DEFS = 'contract';
const SCHEMA_REF = /^#\/components\/schemas\//;

/** The component schemas refer to each other as `#/components/schemas/X`; under ajv they live in `$defs`. */
function rebase(schema: unknown, prefix: string): unknown {
  if (Array.isArray(schema)) return schema.map((item) => rebase(item, prefix));
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string'
        ? value.replace(SCHEMA_REF, `${prefix}#/$defs/`)
        : rebase(value, prefix),
    ]),
  );
}

function newAjv(contract: Contract, coerceTypes: boolean): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, coerceTypes });
  addFormats.default(ajv, ['uuid']);
  ajv.addSchema({ $id: DEFS, $defs: rebase(contract.schemas, '') as Record<string, JsonSchema> });
  return ajv;
}

function objectOf(parameters: Parameter[], closed: boolean): JsonSchema {
  return {
    type: 'object',
    properties: Object.fromEntries(parameters.map((p) => [p.name, rebase(p.schema, DEFS)])),
    required: parameters.filter((p) => p.required).map((p) => p.name),
    additionalProperties: !closed,
  };
}

function bodyOf(ajv: Ajv2020, body: Operation['body']): CompiledOperation['body'] {
  if (!body) return undefined;
  const validators = new Map(
    Object.entries(body.mediaTypes).map(([type, schema]) => [type, ajv.compile(rebase(schema, DEFS) as JsonSchema)]),
  );
  return { required: body.required, mediaTypes: [...validators.keys()], validators };
}

/** Compiles every operation of the contract; a schema ajv cannot compile strictly stops the start. */
export function compileOperations(contract: Contract): CompiledOperation[] {
  const plain = newAjv(contract, false);
  const coercing = newAjv(contract, true);
  return contract.operations.map((operation) => {
    const at = (location: Parameter['in']) => operation.parameters.filter((p) => p.in === location);
    const query = at('query');
    return {
      operation,
      path: plain.compile(objectOf(at('path'), false)),
      // Only the documented query parameters: an unknown one is a caller's typo, never silently ignored.
      query: coercing.compile(objectOf(query, true)),
      headers: plain.compile(objectOf(at('header'), false)),
      encodedOnly: new Set(query.filter((p) => !p.allowReserved).map((p) => p.name)),
      scalarQuery: new Set(query.filter((p) => p.schema.type !== 'array').map((p) => p.name)),
      body: bodyOf(plain, operation.body),
    };
  });
}

export type { ErrorObject };
