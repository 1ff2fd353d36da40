import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { admin, type Gateway, MASTER_KEY, reviewer, startGateway } from './support/harness.ts';

/**
 * The full set of response headers of every kind of answer, names and values, against a written-down
 * expectation: a leaner serving path (issue #26) may change how headers are set, never which are sent.
 * Values that differ per request (ids, dates, lengths, remaining budgets) are checked by shape.
 */
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
const VARYING: Record<string, RegExp> = {
  'x-request-id': /^[\w-]{1,128}$/,
  date: /GMT$/,
  'content-length': /^\d+$/,
  connection: /^(close|keep-alive)$/,
  'keep-alive': /^timeout=\d+$/,
  ratelimit: /^"(reads|writes)"; r=\d+; t=\d+$/,
  // The partition key is a digest of the caller, so it differs per caller; the budget's name and size do not.
  'ratelimit-policy': /^"(reads|writes)"; q=1000; w=60; pk=:[\w+/=]+:$/,
  location: /^\/v1\/accounts\/\w+\/secrets\/[\w-]+$/,
};
const API = { ...SECURITY, 'cache-control': 'no-store' };
/** An account of this file's own: the rotations table is shared with the test files running beside it. */
const DELIVERED = 'hdrs0001';

let gateway: Gateway;
beforeAll(async () => {
  gateway = await startGateway({ subAccounts: [DELIVERED] });
});
afterAll(async () => {
  await gateway.close();
});

/** The headers, with each varying one replaced by its name once its value has the expected shape. */
function normalised(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => {
      const shape = VARYING[name];
      if (shape === undefined) return [name, value];
      return [name, shape.test(value) ? `<${name}>` : `unexpected: ${value}`];
    }),
  );
}

describe('the response headers of every kind of answer', () => {
  const json = 'application/json; charset=utf-8';
  const problem = 'application/problem+json; charset=utf-8';
  const readBudget = { ratelimit: '<ratelimit>', 'ratelimit-policy': '<ratelimit-policy>' };
  test.each([
    ['GET /v1/me', () => gateway.http.get('/v1/me').set(admin), { ...API, ...readBudget, 'content-type': json }],
    [
      'GET /v1/accounts',
      () => gateway.http.get('/v1/accounts').set(admin),
      { ...API, ...readBudget, 'content-type': json },
    ],
    [
      'GET /v1/accounts/:apiKey/secrets',
      () => gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin),
      { ...API, ...readBudget, 'content-type': json },
    ],
    [
      'POST /v1/accounts/:apiKey/secrets',
      () => gateway.http.post(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).send({ secret: exampleSecret() }),
      {
        ...API,
        ratelimit: '<ratelimit>',
        'ratelimit-policy': '<ratelimit-policy>',
        'content-type': json,
        location: '<location>',
      },
    ],
    ['a 401 problem', () => gateway.http.get('/v1/me'), { ...API, 'content-type': problem }],
    [
      'a 404 problem',
      () => gateway.http.get('/v1/accounts/zzzz9999/secrets').set(admin),
      { ...API, ...readBudget, 'content-type': problem },
    ],
    [
      'GET /v1/audit-events',
      () => gateway.http.get('/v1/audit-events?limit=1').set(reviewer),
      { ...API, ...readBudget, 'content-type': json },
    ],
    ['GET /healthz', () => gateway.http.get('/healthz'), { ...SECURITY, 'content-type': json }],
    [
      'POST /v1/deliveries without a live token',
      () => gateway.http.post('/v1/deliveries').set('Authorization', 'Bearer vsgd_unknown'),
      { ...API, 'content-type': problem },
    ],
    [
      'POST /v1/deliveries',
      async () => {
        const name = `headers-${process.pid}`;
        const { body } = await gateway.http.post(`/v1/accounts/${DELIVERED}/consumers`).set(admin).send({ name });
        return gateway.http.post('/v1/deliveries').set('Authorization', `Bearer ${body.token}`);
      },
      { ...API, ratelimit: '<ratelimit>', 'ratelimit-policy': '<ratelimit-policy>', 'content-type': json },
    ],
  ])('when answering %s, then exactly these headers are sent', async (_label, call, expected) => {
    const res = await call();
    const headers = normalised(res.headers as Record<string, string>);
    const always = ['x-request-id', 'date', 'content-length', 'connection'].map((name) => [name, `<${name}>`]);
    const wanted = { ...expected, ...Object.fromEntries(always) };

    expect(Object.keys(headers).sort()).toEqual(Object.keys(wanted).sort());
    expect(headers).toEqual(wanted);
  });
});
