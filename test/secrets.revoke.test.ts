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
  UNKNOWN_SECRET_ID,
} from './support/harness.ts';

const REVOKE = '/v1/accounts/{apiKey}/secrets/{secretId}';

let gateway: Gateway;
beforeEach(async () => {
  gateway = await startGateway({ vonageTimeoutMs: 500 });
});
afterEach(async () => {
  await gateway.close();
});

async function addSecret(apiKey = MASTER_KEY): Promise<string> {
  const res = await gateway.http
    .post(`/v1/accounts/${apiKey}/secrets`)
    .set(admin)
    .send({ secret: exampleSecret() })
    .expect(201);
  gateway.vonage.received.length = 0;
  return res.body.id as string;
}

describe('DELETE /v1/accounts/:apiKey/secrets/:secretId', () => {
  test('when an admin revokes one of two secrets, then 204, Vonage got one authenticated DELETE, and the audit reads success', async () => {
    const secretId = await addSecret();
    const id = requestId('revoke-ok');

    const res = await gateway.http
      .delete(`/v1/accounts/${MASTER_KEY}/secrets/${secretId}`)
      .set(admin)
      .set('X-Request-Id', id);

    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expectToMatchContract(res, 'delete', REVOKE);
    expect(gateway.vonage.secretsOf(MASTER_KEY).map((s) => s.id)).not.toContain(secretId);
    expect(gateway.vonage.received).toEqual([
      {
        method: 'DELETE',
        path: `/accounts/${MASTER_KEY}/secrets/${secretId}`,
        authorization: basicAuth(MASTER_KEY, MASTER_SECRET),
        contentType: undefined,
        body: '',
      },
    ]);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({
        action: 'secret.revoke',
        api_key: MASTER_KEY,
        secret_id: secretId,
        outcome: 'success',
        status: 204,
        upstream_status: 204,
      }),
    ]);
  });

  test("when the secret is the last one, then 409 keeps Vonage's type and detail and the secret survives", async () => {
    const [last] = gateway.vonage.secretsOf(SUB_KEY);
    const id = requestId('revoke-last');

    const res = await gateway.http
      .delete(`/v1/accounts/${SUB_KEY}/secrets/${last?.id}`)
      .set(admin)
      .set('X-Request-Id', id);

    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      type: 'https://developer.nexmo.com/api-errors/account/secret-management#delete-last-secret',
      detail: 'Can not delete the last secret. The account must always have at least 1 secret active at any time',
    });
    expectToMatchContract(res, 'delete', REVOKE);
    expect(gateway.vonage.secretsOf(SUB_KEY)).toEqual([last]);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({ outcome: 'upstream_rejected', status: 409, upstream_status: 403, secret_id: last?.id }),
    ]);
  });

  test('when Vonage does not know the secret, then 404 and the audit reads upstream_rejected', async () => {
    const id = requestId('revoke-unknown');

    const res = await gateway.http
      .delete(`/v1/accounts/${MASTER_KEY}/secrets/${UNKNOWN_SECRET_ID}`)
      .set(admin)
      .set('X-Request-Id', id);

    expect(res.status).toBe(404);
    expect(res.body.detail).toBe(`ID '${UNKNOWN_SECRET_ID}' could not be found`);
    expectToMatchContract(res, 'delete', REVOKE);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({ outcome: 'upstream_rejected', status: 404, upstream_status: 404 }),
    ]);
  });

  test('when the caller may create but not revoke, then 403, the secret survives, and the denial is audited', async () => {
    const secretId = await addSecret(SUB_KEY);
    const id = requestId('revoke-denied');

    const res = await gateway.http
      .delete(`/v1/accounts/${SUB_KEY}/secrets/${secretId}`)
      .set(asCaller('alice@example.com'))
      .set('X-Request-Id', id);

    expect(res.status).toBe(403);
    expectToMatchContract(res, 'delete', REVOKE);
    expect(gateway.vonage.received).toHaveLength(0);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({
        actor_email: 'alice@example.com',
        outcome: 'denied',
        status: 403,
        secret_id: secretId,
      }),
    ]);
  });

  test('when the secret id is malformed, then 400, nothing reaches Vonage, and the attempt is audited as invalid without the bad id', async () => {
    const id = requestId('revoke-invalid');

    const res = await gateway.http
      .delete(`/v1/accounts/${MASTER_KEY}/secrets/not..a..uuid`)
      .set(admin)
      .set('X-Request-Id', id);

    expect(res.status).toBe(400);
    expectToMatchContract(res, 'delete', REVOKE);
    expect(gateway.vonage.received).toHaveLength(0);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({ outcome: 'invalid', status: 400, api_key: MASTER_KEY, secret_id: null }),
    ]);
  });
});
