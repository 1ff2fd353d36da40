import { expect } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import { loadContract } from '../../src/http/openapi.ts';

type Node = Record<string, unknown>;
const spec = loadContract().document;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(spec, 'api');

const walk = (segments: string[]) =>
  segments.reduce<unknown>((node, key) => (node as Node | undefined)?.[key], spec) as Node | undefined;
const toPointer = (segments: string[]) =>
  segments.map((s) => encodeURIComponent(s.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/');
const fromRef = (ref: string) =>
  ref
    .replace(/^#\//, '')
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));

/** Asserts the response's status is documented for the operation and its body matches the documented schema. */
export function expectToMatchContract(res: Response, method: 'get' | 'post' | 'delete', pathTemplate: string): void {
  const responses = walk(['paths', pathTemplate, method, 'responses']);
  expect(Object.keys(responses ?? {})).toContain(String(res.status));
  let location = ['paths', pathTemplate, method, 'responses', String(res.status)];
  const ref = walk(location)?.$ref;
  if (typeof ref === 'string') location = fromRef(ref);
  const mediaTypes = Object.keys((walk(location)?.content as Node | undefined) ?? {});
  if (mediaTypes.length === 0) {
    expect(res.text ?? '').toBe('');
    return;
  }
  const contentType = String(res.headers['content-type'] ?? '').split(';')[0] ?? '';
  expect(mediaTypes).toContain(contentType);
  const validate = ajv.compile({ $ref: `api#/${toPointer([...location, 'content', contentType, 'schema'])}` });
  const valid = validate(res.body);
  expect({ valid, errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
}
