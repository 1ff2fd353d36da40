import type { Response, Test } from 'supertest';
import { exampleSecret } from '../../src/dev/vonage-sandbox.ts';
import { admin, type Gateway, MASTER_KEY, reviewer } from './harness.ts';

/** helmet's headers, on every answer. */
const SECURITY = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'none';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};
const API = { ...SECURITY, 'cache-control': 'no-store' };
/** Accounts of these answers' own: the rotations and consumers tables are shared with the files running beside them. */
export const ACCOUNTS = {
  consumers: 'hdrs0001',
  rotated: 'hdrs0002',
  rotationRead: 'hdrs0003',
  completed: 'hdrs0004',
  cancelled: 'hdrs0005',
  revoked: 'hdrs0006',
  // One consumer per account has delivery on (Vonage keeps two secrets), so each consumer has its own.
  consumerRead: 'hdrs0007',
  reissued: 'hdrs0008',
  tokenRevoked: 'hdrs0009',
  delivered: 'hdrs0010',
} as const;

const json = 'application/json; charset=utf-8';
const problem = 'application/problem+json; charset=utf-8';
const budget = { ratelimit: '<ratelimit>', 'ratelimit-policy': '<ratelimit-policy>' };
/** An answer under /v1 with a body of this type, after the limiter. */
const v1 = (type: string, more: Record<string, string> = {}) => ({ ...API, ...budget, 'content-type': type, ...more });
const created = () => v1(json, { location: '<location>' });
const open = (type: string, more: Record<string, string> = {}) => ({ ...SECURITY, 'content-type': type, ...more });

type Answer = [label: string, status: number, call: () => Promise<Response> | Test, headers: Record<string, string>];

/**
 * Each operation of openapi-internal.yaml (some in more than one form), then the answers every route can give,
 * with the headers each must carry (varying values by their names: test/response-headers.test.ts).
 */
export function everyAnswer(http: () => Gateway['http']): Answer[] {
  const secretIdOf = async (apiKey: string) =>
    (await http().get(`/v1/accounts/${apiKey}/secrets`).set(admin)).body.secrets[0].id as string;
  const rotationOn = async (apiKey: string) =>
    (
      await http()
        .post(`/v1/accounts/${apiKey}/rotations`)
        .set(admin)
        .send({ retire_secret_id: await secretIdOf(apiKey) })
    ).body.id as string;
  const consumer = async (apiKey: string) => {
    const name = `headers-${apiKey}-${process.pid}`;
    const { body } = await http().post(`/v1/accounts/${apiKey}/consumers`).set(admin).send({ name });
    return { token: body.token as string, path: `/v1/accounts/${apiKey}/consumers/${name}` };
  };
  return [
    ['GET /v1/me', 200, () => http().get('/v1/me').set(admin), v1(json)],
    ['GET /v1/accounts', 200, () => http().get('/v1/accounts').set(admin), v1(json)],
    [
      'GET /v1/accounts/{apiKey}/secrets',
      200,
      () => http().get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin),
      v1(json),
    ],
    [
      'POST /v1/accounts/{apiKey}/secrets',
      201,
      () => http().post(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).send({ secret: exampleSecret() }),
      created(),
    ],
    [
      'GET /v1/accounts/{apiKey}/secrets/{secretId}',
      200,
      async () =>
        http()
          .get(`/v1/accounts/${MASTER_KEY}/secrets/${await secretIdOf(MASTER_KEY)}`)
          .set(admin),
      v1(json),
    ],
    [
      'DELETE /v1/accounts/{apiKey}/secrets/{secretId}',
      204,
      async () => {
        const { body } = await http()
          .post(`/v1/accounts/${ACCOUNTS.revoked}/secrets`)
          .set(admin)
          .send({ secret: exampleSecret() });
        return http().delete(`/v1/accounts/${ACCOUNTS.revoked}/secrets/${body.id}`).set(admin);
      },
      { ...API, ...budget },
    ],
    [
      'GET /v1/accounts/{apiKey}/rotations',
      200,
      () => http().get(`/v1/accounts/${MASTER_KEY}/rotations`).set(admin),
      v1(json),
    ],
    [
      'POST /v1/accounts/{apiKey}/rotations',
      201,
      async () =>
        http()
          .post(`/v1/accounts/${ACCOUNTS.rotated}/rotations`)
          .set(admin)
          .send({ retire_secret_id: await secretIdOf(ACCOUNTS.rotated) }),
      created(),
    ],
    [
      'GET /v1/accounts/{apiKey}/rotations/{rotationId}',
      200,
      async () =>
        http()
          .get(`/v1/accounts/${ACCOUNTS.rotationRead}/rotations/${await rotationOn(ACCOUNTS.rotationRead)}`)
          .set(admin),
      v1(json),
    ],
    [
      'POST /v1/accounts/{apiKey}/rotations/{rotationId}/complete',
      200,
      async () =>
        http()
          .post(`/v1/accounts/${ACCOUNTS.completed}/rotations/${await rotationOn(ACCOUNTS.completed)}/complete`)
          .set(admin),
      v1(json),
    ],
    [
      'POST /v1/accounts/{apiKey}/rotations/{rotationId}/cancel',
      200,
      async () =>
        http()
          .post(`/v1/accounts/${ACCOUNTS.cancelled}/rotations/${await rotationOn(ACCOUNTS.cancelled)}/cancel`)
          .set(admin),
      v1(json),
    ],
    [
      'GET /v1/accounts/{apiKey}/consumers',
      200,
      () => http().get(`/v1/accounts/${ACCOUNTS.consumers}/consumers`).set(admin),
      v1(json),
    ],
    [
      'POST /v1/accounts/{apiKey}/consumers',
      201,
      () =>
        http()
          .post(`/v1/accounts/${ACCOUNTS.consumers}/consumers`)
          .set(admin)
          .send({ name: `headers-new-${process.pid}` }),
      created(),
    ],
    [
      'GET /v1/accounts/{apiKey}/consumers/{name}',
      200,
      async () =>
        http()
          .get((await consumer(ACCOUNTS.consumerRead)).path)
          .set(admin),
      v1(json),
    ],
    [
      'POST /v1/accounts/{apiKey}/consumers/{name}/token',
      201,
      async () =>
        http()
          .post(`${(await consumer(ACCOUNTS.reissued)).path}/token`)
          .set(admin),
      v1(json),
    ],
    [
      'DELETE /v1/accounts/{apiKey}/consumers/{name}/token',
      200,
      async () =>
        http()
          .delete(`${(await consumer(ACCOUNTS.tokenRevoked)).path}/token`)
          .set(admin),
      v1(json),
    ],
    [
      'POST /v1/deliveries',
      200,
      async () =>
        http()
          .post('/v1/deliveries')
          .set('Authorization', `Bearer ${(await consumer(ACCOUNTS.delivered)).token}`),
      v1(json),
    ],
    ['GET /v1/reports/secret-age', 200, () => http().get('/v1/reports/secret-age').set(reviewer), v1(json)],
    [
      'GET /v1/reports/secret-age as CSV',
      200,
      () => http().get('/v1/reports/secret-age?format=csv').set(reviewer),
      v1('text/csv; charset=utf-8', { 'content-disposition': 'attachment; filename=secret-age.csv' }),
    ],
    ['GET /v1/audit-events', 200, () => http().get('/v1/audit-events?limit=1').set(reviewer), v1(json)],
    [
      'GET /v1/audit-events as CSV',
      200,
      () => http().get('/v1/audit-events?limit=1').set(reviewer).set('Accept', 'text/csv'),
      v1('text/csv; charset=utf-8', { 'transfer-encoding': 'chunked' }),
    ],
    [
      'GET /v1/audit-events as NDJSON',
      200,
      () => http().get('/v1/audit-events?limit=1').set(reviewer).set('Accept', 'application/x-ndjson'),
      v1('application/x-ndjson', { 'transfer-encoding': 'chunked' }),
    ],
    ['GET /v1/audit-events/verify', 200, () => http().get('/v1/audit-events/verify').set(reviewer), v1(json)],
    ['GET /openapi.json', 200, () => http().get('/openapi.json'), open(json, { 'cache-control': 'no-cache' })],
    [
      'GET /openapi.yaml',
      200,
      () => http().get('/openapi.yaml'),
      open('application/yaml; charset=utf-8', { 'cache-control': 'no-cache' }),
    ],
    ['GET /healthz', 200, () => http().get('/healthz'), open(json)],
    ['GET /readyz', 200, () => http().get('/readyz'), open(json)],
    ['a 401 problem', 401, () => http().get('/v1/me'), { ...API, 'content-type': problem }],
    ['a 404 problem', 404, () => http().get('/v1/accounts/zzzz9999/secrets').set(admin), v1(problem)],
    [
      'POST /v1/deliveries without a live token',
      401,
      () => http().post('/v1/deliveries').set('Authorization', 'Bearer vsgd_unknown'),
      { ...API, 'content-type': problem },
    ],
  ];
}
