import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { expect } from '@jest/globals';
import type { Response } from 'supertest';
import { parse } from 'yaml';
import { OPENAPI_SPEC_PATH } from '../../src/http/openapi.ts';

const spec = parse(readFileSync(OPENAPI_SPEC_PATH, 'utf8')) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(spec, 'api');

const pointer = (...segments: string[]) => segments.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');

/** Asserts the response's status is documented for the operation and its body matches the documented schema. */
export function expectToMatchContract(res: Response, method: 'get' | 'post' | 'delete', pathTemplate: string): void {
  const operation = spec.paths[pathTemplate]?.[method];
  expect(operation).toBeDefined();
  const status = String(res.status);
  expect(Object.keys(operation?.responses ?? {})).toContain(status);
  const responsePointer = pointer('paths', pathTemplate, method, 'responses', status);
  const response = ajv.getSchema(`api#/${responsePointer}`)?.schema as { $ref?: string; content?: Record<string, unknown> } | undefined;
  const resolved = response?.$ref ? (ajv.getSchema(`api${response.$ref}`)?.schema as typeof response) : response;
  const mediaTypes = Object.keys(resolved?.content ?? {});
  if (mediaTypes.length === 0) {
    expect(res.text ?? '').toBe('');
    return;
  }
  const contentType = String(res.headers['content-type'] ?? '').split(';')[0];
  expect(mediaTypes).toContain(contentType);
  const schemaRef = response?.$ref
    ? `api${response.$ref}/content/${pointer(contentType as string)}/schema`
    : `api#/${responsePointer}/content/${pointer(contentType as string)}/schema`;
  const validate = ajv.compile({ $ref: schemaRef });
  const valid = validate(res.body);
  expect({ valid, errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
}
