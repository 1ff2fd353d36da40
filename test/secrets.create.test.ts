import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { expectToMatchContract } from './support/contract.ts';
import {
  admin,
  asCaller,
  auditEventFor,
  basicAuth,
  type Gateway,
  MASTER_KEY,
  MASTER_SECRET,
  requestId,
  startGateway,
  SUB_KEY,
  UNMANAGED_KEY,
} from './support/harness.ts';

const CREATE = '/v1/accounts/{apiKey}/secrets';

let gateway: Gateway;
beforeEach(async () => {
  gateway = await startGateway({ vonageTimeoutMs: 500 });
});
afterEach(async () => {
  await gateway.close();
});

describe('POST /v1/accounts/:apiKey/secrets', () => {
  test('when an admin creates a valid secret, then 201 with Location, Vonage got exactly the body, and the audit reads success', async () => {
    const id = requestId('create-ok');
    const secret = exampleSecret();

    const res = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('X-Request-Id', id)
      .set('X-Forwarded-For', '203.0.113.9')
      .set('User-Agent', 'payments-rotator/1.0')
      .send({ secret });

    expect(res.status).toBe(201);
    expect(res.headers['x-request-id']).toBe(id);
    const created = gateway.vonage.secretsOf(MASTER_KEY).at(-1);
    expect(res.body).toEqual(created);
    expect(res.headers.location).toBe(`/v1/accounts/${MASTER_KEY}/secrets/${created?.id}`);
    expectToMatchContract(res, 'post', CREATE);
    expect(gateway.vonage.received).toEqual([
      {
        method: 'POST',
        path: `/accounts/${MASTER_KEY}/secrets`,
        authorization: basicAuth(MASTER_KEY, MASTER_SECRET),
        contentType: 'application/json',
        body: JSON.stringify({ secret }),
      },
    ]);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({
        action: 'secret.create',
        actor_email: 'admin@example.com',
        actor_user: 'admin',
        actor_groups: ['platform-admins', 'staff'],
        api_key: MASTER_KEY,
        secret_id: null,
        created_secret_id: created?.id,
        outcome: 'success',
        status: 201,
        upstream_status: 201,
        client_ip: '203.0.113.9',
        user_agent: 'payments-rotator/1.0',
      }),
    ]);
  });

  test('when an email grant allows create on a sub-account, then the sub-account gets the secret', async () => {
    const res = await gateway.http
      .post(`/v1/accounts/${SUB_KEY}/secrets`)
      .set(asCaller('Alice@Example.com'))
      .send({ secret: exampleSecret() });

    expect(res.status).toBe(201);
    expect(gateway.vonage.secretsOf(SUB_KEY)).toHaveLength(2);
  });

  test.each([
    ['too short', { secret: 'Ab1defg' }, 'secret'],
    ['too long', { secret: `Ab1${'x'.repeat(23)}` }, 'secret'],
    ['without an upper-case letter', { secret: 'abcdefgh1' }, 'secret'],
    ['without a lower-case letter', { secret: 'ABCDEFGH1' }, 'secret'],
    ['without a digit', { secret: 'Abcdefghi' }, 'secret'],
    ['not a string', { secret: 12345678 }, 'secret'],
    ['missing', {}, 'secret'],
    ['accompanied by an extra field', { secret: 'Abcdefgh1', note: 'x' }, 'note'],
  ])(
    'when the secret is %s, then 400 names the field, nothing reaches Vonage, and the attempt is audited as invalid',
    async (_label, body, field) => {
      const id = requestId('create-invalid');

      const res = await gateway.http
        .post(`/v1/accounts/${MASTER_KEY}/secrets`)
        .set(admin)
        .set('X-Request-Id', id)
        .send(body);

      expect(res.status).toBe(400);
      expect(res.body.invalid_params).toEqual(expect.arrayContaining([expect.objectContaining({ name: field })]));
      expectToMatchContract(res, 'post', CREATE);
      expect(gateway.vonage.received).toHaveLength(0);
      expect(await auditEventFor(gateway, id)).toEqual([
        expect.objectContaining({ outcome: 'invalid', status: 400, upstream_status: null, api_key: MASTER_KEY }),
      ]);
    },
  );

  test.each([
    ['not JSON', '{"secret": Abcdefgh1', 'application/json', 400],
    ['JSON but not an object', '"Abcdefgh1"', 'application/json', 400],
    ['too large', JSON.stringify({ secret: 'x'.repeat(8_000) }), 'application/json', 413],
    ['not declared as JSON', 'secret=Abcdefgh1', 'application/x-www-form-urlencoded', 415],
  ])(
    'when the body is %s, then a precise 4xx problem and nothing reaches Vonage',
    async (_label, body, contentType, status) => {
      const id = requestId('create-body');

      const res = await gateway.http
        .post(`/v1/accounts/${MASTER_KEY}/secrets`)
        .set(admin)
        .set('X-Request-Id', id)
        .set('Content-Type', contentType)
        .send(body);

      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toContain('Abcdefgh1');
      expectToMatchContract(res, 'post', CREATE);
      expect(gateway.vonage.received).toHaveLength(0);
      expect(await auditEventFor(gateway, id)).toEqual([expect.objectContaining({ outcome: 'invalid', status })]);
    },
  );

  test('when the caller has no create grant, then 403 and the denial is audited', async () => {
    const id = requestId('create-denied');

    const res = await gateway.http
      .post(`/v1/accounts/${SUB_KEY}/secrets`)
      .set(asCaller('bob@example.com', 'team-payments'))
      .set('X-Request-Id', id)
      .send({ secret: exampleSecret() });

    expect(res.status).toBe(403);
    expectToMatchContract(res, 'post', CREATE);
    expect(gateway.vonage.received).toHaveLength(0);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({
        actor_email: 'bob@example.com',
        actor_groups: ['team-payments'],
        outcome: 'denied',
        status: 403,
        api_key: SUB_KEY,
      }),
    ]);
  });

  test('when the account is not managed, then 404, nothing reaches Vonage, and the attempt is audited as denied', async () => {
    const id = requestId('create-unmanaged');

    const res = await gateway.http
      .post(`/v1/accounts/${UNMANAGED_KEY}/secrets`)
      .set(admin)
      .set('X-Request-Id', id)
      .send({ secret: exampleSecret() });

    expect(res.status).toBe(404);
    expectToMatchContract(res, 'post', CREATE);
    expect(gateway.vonage.received).toHaveLength(0);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({ outcome: 'denied', status: 404, api_key: UNMANAGED_KEY }),
    ]);
  });

  test("when the account already has 2 secrets, then 409 keeps Vonage's type and detail and the audit reads upstream_rejected", async () => {
    await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .send({ secret: exampleSecret() })
      .expect(201);
    const id = requestId('create-third');

    const res = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('X-Request-Id', id)
      .send({ secret: exampleSecret() });

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      type: 'https://developer.nexmo.com/api-errors/account/secret-management#add-excess-secret',
      detail: 'Account reached maximum number [2] of allowed secrets',
      status: 409,
    });
    expectToMatchContract(res, 'post', CREATE);
    expect(gateway.vonage.secretsOf(MASTER_KEY)).toHaveLength(2);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({ outcome: 'upstream_rejected', status: 409, upstream_status: 403 }),
    ]);
  });

  test.each([
    ['answers 500', 502, { kind: 'server-error', status: 500 } as const, 500],
    ['resets the connection', 502, { kind: 'reset' } as const, null],
    ['is slower than the deadline', 504, { kind: 'slow', delayMs: 3_000 } as const, null],
    ['throttles', 429, { kind: 'throttle', retryAfterSeconds: 7 } as const, 429],
  ])('when Vonage %s, then %i and the audit records the failure', async (_label, status, fault, upstreamStatus) => {
    gateway.vonage.setFault(fault);
    const id = requestId('create-fault');

    const res = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('X-Request-Id', id)
      .send({ secret: exampleSecret() });

    expect(res.status).toBe(status);
    expectToMatchContract(res, 'post', CREATE);
    expect(gateway.vonage.received).toHaveLength(1);
    const outcome = status === 429 ? 'upstream_rejected' : 'upstream_failed';
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({ outcome, status, upstream_status: upstreamStatus }),
    ]);
  });

  test('when the caller exceeds the write budget, then 429 with RateLimit headers and Vonage sees only the allowed create', async () => {
    const limited = await startGateway({ rateLimits: { readsPerMinute: 100, writesPerMinute: 1 } });
    try {
      await limited.http
        .post(`/v1/accounts/${MASTER_KEY}/secrets`)
        .set(admin)
        .send({ secret: exampleSecret() })
        .expect(201);

      const res = await limited.http
        .post(`/v1/accounts/${MASTER_KEY}/secrets`)
        .set(admin)
        .send({ secret: exampleSecret() });
      const otherCaller = await limited.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin);

      expect(res.status).toBe(429);
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      expect(res.headers.ratelimit).toMatch(/"writes"; r=0/);
      expectToMatchContract(res, 'post', CREATE);
      expect(otherCaller.status).toBe(200);
      expect(limited.vonage.received.filter((r) => r.method === 'POST')).toHaveLength(1);
    } finally {
      await limited.close();
    }
  });
});
