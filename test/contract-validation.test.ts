import { Writable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import express, { type ErrorRequestHandler } from 'express';
import supertest from 'supertest';
import winston from 'winston';
import { toAppError } from '../src/http/errors.middleware.ts';
import { createMetrics } from '../src/http/metrics.ts';
import { contractChecks, expressPath, loadContract } from '../src/http/openapi.ts';
import { requestContext } from '../src/http/request-context.middleware.ts';
import { createLogger } from '../src/logger.ts';

/**
 * The compiled contract checks on their own: every operation of openapi-internal.yaml mounted as the
 * app mounts it (body parser, then the check), answering 299 when the request holds. The integration
 * tests cover the same rules through the real routes; this table names each rule once. The request
 * context runs first, as in the app.
 */
const contract = loadContract();
const checks = contractChecks(contract);
const app = express();
app.set('case sensitive routing', true);
app.set('strict routing', true);
const quiet = new winston.transports.Stream({ stream: new Writable({ write: (_chunk, _encoding, done) => done() }) });
app.use(requestContext(createLogger('error', quiet), createMetrics()));
for (const { method, template } of contract.operations) {
  const path = expressPath(template);
  app[method.toLowerCase() as 'get' | 'post' | 'delete'](
    path,
    express.json({ limit: '4kb' }),
    checks.validate,
    (_q, r) => {
      r.status(299).end();
    },
  );
}
app.use(checks.unmatched);
app.use(((error, _req, res, _next) => {
  const e = toAppError(error);
  if (e.options.allow) res.set('Allow', e.options.allow);
  res
    .status(e.status)
    .json({ names: (e.options.invalidParams ?? []).map((p) => p.name), reasons: e.options.invalidParams });
}) as ErrorRequestHandler);
const http = supertest(app);

const SECRET_ID = 'ad6dc56f-07b5-46e1-a527-85530e625800';
const ROTATION_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

type Case = [
  label: string,
  method: 'get' | 'post' | 'delete' | 'put' | 'head',
  url: string,
  body: unknown,
  status: number,
  names: string[],
];

describe('the compiled contract checks', () => {
  test.each<Case>([
    ['a valid list', 'get', '/v1/accounts/abcd1234/secrets', undefined, 299, []],
    ['an api key that breaks its pattern', 'get', '/v1/accounts/ab/secrets', undefined, 400, ['apiKey']],
    ['an encoded slash in the api key', 'get', '/v1/accounts/abcd%2F1234/secrets', undefined, 400, ['apiKey']],
    ['a secret id that is not a uuid', 'get', '/v1/accounts/abcd1234/secrets/nope', undefined, 400, ['secretId']],
    [
      'an upper-case secret id',
      'delete',
      `/v1/accounts/abcd1234/secrets/${SECRET_ID.toUpperCase()}`,
      undefined,
      299,
      [],
    ],
    [
      'an upper-case rotation id',
      'get',
      `/v1/accounts/abcd1234/rotations/${ROTATION_ID.toUpperCase()}`,
      undefined,
      400,
      ['rotationId'],
    ],
    ['an unknown query parameter', 'get', '/v1/audit-events?colour=red', undefined, 400, ['colour']],
    ['a query on an operation without parameters', 'get', '/v1/me?debug=1', undefined, 400, ['debug']],
    ['a limit given as digits (coerced)', 'get', '/v1/audit-events?limit=5', undefined, 299, []],
    ['a limit that is not an integer', 'get', '/v1/audit-events?limit=5.5', undefined, 400, ['limit']],
    ['a limit over its maximum', 'get', '/v1/audit-events?limit=501', undefined, 400, ['limit']],
    ['a limit given twice', 'get', '/v1/audit-events?limit=5&limit=6', undefined, 400, ['limit']],
    ['full=true (coerced to a boolean)', 'get', '/v1/audit-events/verify?full=true', undefined, 299, []],
    ['full=yes', 'get', '/v1/audit-events/verify?full=yes', undefined, 400, ['full']],
    ['an unencoded @ where allowReserved is set', 'get', '/v1/audit-events?actor=a@example.com', undefined, 299, []],
    [
      'an unencoded : where allowReserved is set',
      'get',
      '/v1/audit-events?since=2026-11-27T00:00:00Z',
      undefined,
      299,
      [],
    ],
    ['an unencoded : where it is not', 'get', '/v1/audit-events?action=secret:create', undefined, 400, ['action']],
    ['an unknown enum value', 'get', '/v1/audit-events?outcome=maybe', undefined, 400, ['outcome']],
    ['an enum format', 'get', '/v1/reports/secret-age?format=csv', undefined, 299, []],
    ['a valid create', 'post', '/v1/accounts/abcd1234/secrets', { secret: 'Abcdefgh1' }, 299, []],
    ['a secret without a digit', 'post', '/v1/accounts/abcd1234/secrets', { secret: 'Abcdefghi' }, 400, ['secret']],
    ['a secret that is a number', 'post', '/v1/accounts/abcd1234/secrets', { secret: 12345678 }, 400, ['secret']],
    ['no secret', 'post', '/v1/accounts/abcd1234/secrets', {}, 400, ['secret']],
    [
      'an undocumented field',
      'post',
      '/v1/accounts/abcd1234/secrets',
      { secret: 'Abcdefgh1', note: 'x' },
      400,
      ['note'],
    ],
    ['a JSON array body', 'post', '/v1/accounts/abcd1234/secrets', [], 400, ['body']],
    ['no body at all', 'post', '/v1/accounts/abcd1234/secrets', undefined, 400, ['body']],
    [
      'a rotation with a malformed discard id',
      'post',
      '/v1/accounts/abcd1234/rotations',
      { retire_secret_id: SECRET_ID, discard_secret_id: 'x' },
      400,
      ['discard_secret_id'],
    ],
    ['a method the path lacks', 'put', '/v1/accounts/abcd1234/secrets', {}, 405, []],
    ['HEAD on a GET route, which is checked as GET', 'head', '/v1/me', undefined, 299, []],
    ['a path outside the contract', 'get', '/v1/nothing', undefined, 404, []],
    ['a trailing slash', 'get', '/v1/me/', undefined, 404, []],
  ])('when the request has %s, then %s %s answers as documented', async (_label, method, url, body, status, names) => {
    const res = await (body === undefined ? http[method](url) : http[method](url).send(body as object));

    expect(res.status).toBe(status);
    if (status !== 405 && method !== 'head') expect([...new Set(res.body.names ?? [])]).toEqual(names);
    if (status === 405) expect(res.headers.allow).toMatch(/^[A-Z]+(, [A-Z]+)*$/);
  });

  test('when a secret breaks its rule, then the reason says the rule in words and never echoes the value', async () => {
    const res = await http.post('/v1/accounts/abcd1234/secrets').send({ secret: 'abcdefgh1' });

    expect(res.body.reasons).toContainEqual({
      name: 'secret',
      reason: 'must be 8-25 characters with at least one lower-case letter, one upper-case letter and one digit',
    });
    expect(res.text).not.toContain('abcdefgh1');
  });

  test('when the body is declared as another media type, then 415', async () => {
    const res = await http.post('/v1/accounts/abcd1234/secrets').type('text/plain').send('secret=Abcdefgh1');

    expect(res.status).toBe(415);
  });

  test('when the Idempotency-Key header breaks its pattern, then 400 names the header', async () => {
    const res = await http
      .post('/v1/accounts/abcd1234/secrets')
      .set('Idempotency-Key', 'has space')
      .send({ secret: 'Abcdefgh1' });

    expect(res.status).toBe(400);
    expect(res.body.names).toEqual(['idempotency-key']);
  });

  test('when a documented path is asked with another method, then Allow lists exactly its methods', async () => {
    const res = await http.put('/v1/accounts/abcd1234/secrets/' + SECRET_ID);

    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, DELETE'); // HEAD wherever GET (RFC 9110)
  });
});
