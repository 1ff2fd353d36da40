import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { createCircuitBreaker } from '../src/vonage/circuit-breaker.ts';
import { expectToMatchContract } from './support/contract.ts';
import { admin, auditEventFor, type Gateway, MASTER_KEY, requestId, startGateway, until } from './support/harness.ts';

const LIST = `/v1/accounts/${MASTER_KEY}/secrets`;
const requestLog = (gateway: Gateway, id: string) =>
  gateway.logLines.map((l) => JSON.parse(l)).find((e) => e.message === 'request' && e.request_id === id);

describe('GET /v1/accounts/:apiKey/secrets when Vonage stumbles', () => {
  let gateway: Gateway;
  beforeEach(async () => {
    gateway = await startGateway({ vonageTimeoutMs: 1_000 });
  });
  afterEach(async () => {
    await gateway.close();
  });

  test.each([
    ['a 500', { kind: 'server-error', status: 500 } as const],
    ['a 503', { kind: 'server-error', status: 503 } as const],
    ['a connection reset', { kind: 'reset' } as const],
  ])('when the first attempt meets %s, then the GET is retried and succeeds', async (_label, fault) => {
    gateway.vonage.setFault(fault, 1);
    const id = requestId('retry');

    const res = await gateway.http.get(LIST).set(admin).set('X-Request-Id', id);

    expect(res.status).toBe(200);
    expect(gateway.vonage.received).toHaveLength(2);
    expect(requestLog(gateway, id)).toMatchObject({ upstream_status: 200, upstream_attempts: 2 });
  });

  test('when every attempt fails, then at most two retries are made and 502 comes back', async () => {
    gateway.vonage.setFault({ kind: 'server-error', status: 500 });

    const res = await gateway.http.get(LIST).set(admin);

    expect(res.status).toBe(502);
    expect(gateway.vonage.received).toHaveLength(3);
  });

  test('when Vonage is slower than the deadline, then the deadline answers 504 and no socket is left hanging', async () => {
    gateway.vonage.setFault({ kind: 'slow', delayMs: 5_000 });

    const res = await gateway.http.get(LIST).set(admin);

    expect(res.status).toBe(504);
    await until(() => gateway.vonage.pendingRequests() === 0);
    expect(gateway.vonage.pendingRequests()).toBe(0);
  });
});

describe('POST /v1/accounts/:apiKey/secrets when Vonage stumbles', () => {
  test.each([
    ['a 500', 502, 'upstream_failed', { kind: 'server-error', status: 500 } as const],
    ['a connection reset', 502, 'upstream_failed', { kind: 'reset' } as const],
    ['a throttle', 429, 'upstream_rejected', { kind: 'throttle', retryAfterSeconds: 3 } as const],
  ])('when it meets %s, then it is never retried: %i, audited as %s', async (_label, status, outcome, fault) => {
    const gateway = await startGateway({ vonageTimeoutMs: 1_000 });
    try {
      gateway.vonage.setFault(fault, 1);
      const id = requestId('no-retry');

      const res = await gateway.http.post(LIST).set(admin).set('X-Request-Id', id).send({ secret: exampleSecret() });

      expect(res.status).toBe(status);
      expect(gateway.vonage.received.filter((r) => r.method === 'POST')).toHaveLength(1);
      expect(await auditEventFor(gateway, id)).toEqual([expect.objectContaining({ outcome, status })]);
      await until(() => gateway.vonage.pendingRequests() === 0);
    } finally {
      await gateway.close();
    }
  });
});

describe('the Vonage circuit breaker', () => {
  test('when failures persist, then it opens and answers 503 fast without calling Vonage, then a probe closes it', async () => {
    let clock = 0;
    const breaker = createCircuitBreaker({ failureThreshold: 3, openMs: 30_000, now: () => clock });
    const gateway = await startGateway({ vonageTimeoutMs: 1_000, breaker });
    try {
      gateway.vonage.setFault({ kind: 'server-error', status: 500 });
      await gateway.http.get(LIST).set(admin).expect(502); // three attempts, three failures

      const whileOpen = await gateway.http.get(LIST).set(admin);
      expectToMatchContract(whileOpen, 'get', '/v1/accounts/{apiKey}/secrets');
      const createWhileOpen = await gateway.http
        .post(LIST)
        .set(admin)
        .set('X-Request-Id', requestId('open'))
        .send({ secret: exampleSecret() });
      const callsWhileOpen = gateway.vonage.received.length;
      gateway.vonage.setFault(null);
      clock += 30_000;
      const probe = await gateway.http.get(LIST).set(admin);

      expect(whileOpen.status).toBe(503);
      expect(whileOpen.headers['retry-after']).toBe('30');
      expectToMatchContract(createWhileOpen, 'post', '/v1/accounts/{apiKey}/secrets');
      expect(createWhileOpen.status).toBe(503);
      expect(callsWhileOpen).toBe(3);
      expect(probe.status).toBe(200);
      expect(breaker.state()).toBe('closed');
    } finally {
      await gateway.close();
    }
  });
});
