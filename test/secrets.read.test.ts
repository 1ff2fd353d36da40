import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { expectToMatchContract } from './support/contract.ts';
import {
  admin,
  asCaller,
  basicAuth,
  type Gateway,
  MASTER_KEY,
  MASTER_SECRET,
  startGateway,
  SUB_KEY,
  UNMANAGED_KEY,
  UNKNOWN_SECRET_ID,
} from './support/harness.ts';

const LIST = '/v1/accounts/{apiKey}/secrets';
const ONE = '/v1/accounts/{apiKey}/secrets/{secretId}';

let gateway: Gateway;
beforeEach(async () => {
  gateway = await startGateway({ vonageTimeoutMs: 500 });
});
afterEach(async () => {
  await gateway.close();
});

describe('GET /v1/accounts/:apiKey/secrets', () => {
  test('when an admin lists a managed account, then the secrets come back without links and Vonage got one authenticated GET', async () => {
    const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ api_key: MASTER_KEY, secrets: gateway.vonage.secretsOf(MASTER_KEY) });
    expectToMatchContract(res, 'get', LIST);
    expect(gateway.vonage.received).toEqual([
      {
        method: 'GET',
        path: `/accounts/${MASTER_KEY}/secrets`,
        authorization: basicAuth(MASTER_KEY, MASTER_SECRET),
        contentType: undefined,
        body: '',
      },
    ]);
  });

  test('when a group grant covers only a sub-account, then that sub-account is listed with the master credentials', async () => {
    const res = await gateway.http
      .get(`/v1/accounts/${SUB_KEY}/secrets`)
      .set(asCaller('bob@example.com', 'team-payments'));

    expect(res.status).toBe(200);
    expect(res.body.api_key).toBe(SUB_KEY);
    expect(gateway.vonage.received[0]).toMatchObject({
      path: `/accounts/${SUB_KEY}/secrets`,
      authorization: basicAuth(MASTER_KEY, MASTER_SECRET),
    });
  });

  test('when the caller has no grant on the account, then 403 and nothing reaches Vonage', async () => {
    const res = await gateway.http
      .get(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(asCaller('bob@example.com', 'team-payments'));

    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectToMatchContract(res, 'get', LIST);
    expect(gateway.vonage.received).toHaveLength(0);
  });

  test('when the account is not in the policy, then 404 and nothing reaches Vonage', async () => {
    const res = await gateway.http.get(`/v1/accounts/${UNMANAGED_KEY}/secrets`).set(admin);

    expect(res.status).toBe(404);
    expectToMatchContract(res, 'get', LIST);
    expect(gateway.vonage.received).toHaveLength(0);
  });

  test.each([
    ['a path traversal', '..'],
    ['an encoded slash', 'abcd%2F1234'],
    ['an encoded dot-dot', '%2E%2E'],
    ['too short', 'abc'],
    ['punctuation', 'abcd-1234'],
    ['too long', 'a'.repeat(33)],
    ['a percent-encoded NUL', 'abcd1234%00'],
  ])('when the api key is %s, then 400 with the parameter named and nothing reaches Vonage', async (_label, apiKey) => {
    const res = await gateway.http.get(`/v1/accounts/${apiKey}/secrets`).set(admin);

    expect(res.status).toBe(400);
    expect(res.body.invalid_params).toEqual([expect.objectContaining({ name: 'apiKey' })]);
    expect(gateway.vonage.received).toHaveLength(0);
  });
});

describe('GET /v1/accounts/:apiKey/secrets/:secretId', () => {
  test('when the secret exists, then its id and creation time come back', async () => {
    const [secret] = gateway.vonage.secretsOf(MASTER_KEY);

    const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets/${secret?.id}`).set(admin);

    expect(res.status).toBe(200);
    expect(res.body).toEqual(secret);
    expectToMatchContract(res, 'get', ONE);
    expect(gateway.vonage.received).toEqual([
      expect.objectContaining({
        method: 'GET',
        path: `/accounts/${MASTER_KEY}/secrets/${secret?.id}`,
        authorization: basicAuth(MASTER_KEY, MASTER_SECRET),
      }),
    ]);
  });

  test("when Vonage does not know the secret, then 404 with Vonage's detail", async () => {
    const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets/${UNKNOWN_SECRET_ID}`).set(admin);

    expect(res.status).toBe(404);
    expect(res.body.detail).toBe(`ID '${UNKNOWN_SECRET_ID}' could not be found`);
    expectToMatchContract(res, 'get', ONE);
  });

  test.each([
    ['not a UUID', 'secret-id-one'],
    ['a traversal', '..'],
    ['an encoded slash', `${UNKNOWN_SECRET_ID.slice(0, 8)}%2F${UNKNOWN_SECRET_ID.slice(9)}`],
    ['a UUID with a suffix', `${UNKNOWN_SECRET_ID}x`],
  ])('when the secret id is %s, then 400 and nothing reaches Vonage', async (_label, secretId) => {
    const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets/${secretId}`).set(admin);

    expect(res.status).toBe(400);
    expect(res.body.invalid_params).toEqual([expect.objectContaining({ name: 'secretId' })]);
    expect(gateway.vonage.received).toHaveLength(0);
  });
});

describe('GET /v1/accounts/:apiKey/secrets when Vonage misbehaves', () => {
  test.each([
    ['answers 500', 502, { kind: 'server-error', status: 500 } as const, 500],
    ['answers 503', 502, { kind: 'server-error', status: 503 } as const, 503],
    ['sends a malformed body', 502, { kind: 'malformed' } as const, 200],
    ['sends a well-formed body past 64 kB', 502, { kind: 'oversized', bytes: 100_000 } as const, null],
    ['resets the connection', 502, { kind: 'reset' } as const, null],
    ['is slower than the deadline', 504, { kind: 'slow', delayMs: 3_000 } as const, null],
  ])(
    'when Vonage %s, then %i problem+json (a 504 is the deadline firing first)',
    async (_label, status, fault, upstreamStatus) => {
      gateway.vonage.setFault(fault);

      const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin);

      expect(res.status).toBe(status);
      expectToMatchContract(res, 'get', LIST);
      const line = gateway.logLines.map((l) => JSON.parse(l)).find((entry) => entry.message === 'request');
      expect(line).toMatchObject({
        status,
        upstream_status: upstreamStatus,
        route: LIST.replace('{apiKey}', ':apiKey'),
      });
    },
  );

  test('when Vonage throttles, then 429 passes its Retry-After and X-RateLimit headers on', async () => {
    gateway.vonage.setFault({ kind: 'throttle', retryAfterSeconds: 15 });

    const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin);

    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('15');
    expect(res.headers['x-ratelimit-limit']).toBe('30');
    expect(res.headers['x-ratelimit-remaining']).toBe('0');
    expectToMatchContract(res, 'get', LIST);
  });
});

describe('GET /v1/accounts/:apiKey/secrets with wrong gateway credentials', () => {
  test("when Vonage rejects the gateway's credentials, then 502 and the credentials are not echoed", async () => {
    const misconfigured = await startGateway({ vonageApiSecret: 'Wrong5ecretValue' });
    try {
      const res = await misconfigured.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin);

      expect(res.status).toBe(502);
      expect(res.text).not.toContain('Wrong5ecretValue');
      expect(misconfigured.vonage.received[0]?.authorization).toBe(basicAuth(MASTER_KEY, 'Wrong5ecretValue'));
    } finally {
      await misconfigured.close();
    }
  });
});
