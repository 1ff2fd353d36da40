import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { expectToMatchContract } from './support/contract.ts';
import { admin, asCaller, type Gateway, MASTER_KEY, startGateway, UNKNOWN_SECRET_ID } from './support/harness.ts';

/** The audit database is unreachable: a real connection to a port nothing listens on. */
let gateway: Gateway;
beforeAll(async () => {
  gateway = await startGateway({ databaseUrl: 'postgres://postgres@127.0.0.1:1/unreachable' });
});
afterAll(async () => {
  await gateway.close();
});

describe('POST and DELETE /v1/accounts/:apiKey/secrets… with the audit database down', () => {
  test.each([
    ['a create', 'post', '/v1/accounts/{apiKey}/secrets', `/v1/accounts/${MASTER_KEY}/secrets`, admin],
    [
      'a revoke',
      'delete',
      '/v1/accounts/{apiKey}/secrets/{secretId}',
      `/v1/accounts/${MASTER_KEY}/secrets/${UNKNOWN_SECRET_ID}`,
      admin,
    ],
    [
      'a denied create',
      'post',
      '/v1/accounts/{apiKey}/secrets',
      `/v1/accounts/${MASTER_KEY}/secrets`,
      asCaller('bob@example.com', 'team-payments'),
    ],
  ] as const)(
    'when %s cannot be audited, then 503 with Retry-After and Vonage receives nothing',
    async (_label, method, template, path, caller) => {
      const res = await gateway.http[method](path)
        .set(caller)
        .send(method === 'post' ? { secret: exampleSecret() } : undefined);

      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body.detail).toBe('The audit log cannot be written, so the request was not carried out.');
      expectToMatchContract(res, method, template);
      expect(gateway.vonage.received).toEqual([]);
    },
  );

  test('when a caller only reads, then the list is still served', async () => {
    const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin);

    expect(res.status).toBe(200);
  });

  test('when the orchestrator asks for readiness, then 503 while liveness stays 200', async () => {
    const ready = await gateway.http.get('/readyz');
    const live = await gateway.http.get('/healthz');

    expect(ready.status).toBe(503);
    expectToMatchContract(ready, 'get', '/readyz');
    expect(live.status).toBe(200);
    expectToMatchContract(live, 'get', '/healthz');
  });
});
