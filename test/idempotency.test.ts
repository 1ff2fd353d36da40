import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { sweepExpiredKeys } from '../src/idempotency/store.ts';
import { expectToMatchContract } from './support/contract.ts';
import {
  admin,
  asCaller,
  auditEventFor,
  type Gateway,
  MASTER_KEY,
  requestId,
  startGateway,
  until,
} from './support/harness.ts';

const CREATE = `/v1/accounts/${MASTER_KEY}/secrets`;
const posts = (gateway: Gateway) => gateway.vonage.received.filter((r) => r.method === 'POST').length;

let gateway: Gateway;
beforeEach(async () => {
  gateway = await startGateway({ vonageTimeoutMs: 2_000 });
});
afterEach(async () => {
  await gateway.close();
});

const create = (key: string, secret: string, who = admin, id = requestId('idem')) =>
  gateway.http.post(CREATE).set(who).set('Idempotency-Key', key).set('X-Request-Id', id).send({ secret });

describe('POST /v1/accounts/:apiKey/secrets with Idempotency-Key', () => {
  test('when the same request is sent twice with one key, then the first answer is replayed, one secret exists, and the audit shows the replay', async () => {
    const key = `k-${Date.now()}`;
    const secret = exampleSecret();
    const [firstId, secondId] = [requestId('first'), requestId('replay')];

    const first = await create(key, secret, admin, firstId);
    const second = await create(key, secret, admin, secondId);

    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.location).toBe(first.headers.location);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expectToMatchContract(second, 'post', '/v1/accounts/{apiKey}/secrets');
    expect(posts(gateway)).toBe(1);
    expect(gateway.vonage.secretsOf(MASTER_KEY)).toHaveLength(2);
    expect(await auditEventFor(gateway, firstId)).toEqual([
      expect.objectContaining({ outcome: 'success', created_secret_id: first.body.id }),
    ]);
    expect(await auditEventFor(gateway, secondId)).toEqual([
      expect.objectContaining({
        outcome: 'replayed',
        status: 201,
        upstream_status: null,
        created_secret_id: first.body.id,
      }),
    ]);
  });

  test('when the key is reused with a different request, then 422 and nothing more reaches Vonage', async () => {
    const key = `k-${Date.now()}`;
    await create(key, exampleSecret()).expect(201);
    const id = requestId('mismatch');

    const res = await create(key, exampleSecret(), admin, id);

    expect(res.status).toBe(422);
    expectToMatchContract(res, 'post', '/v1/accounts/{apiKey}/secrets');
    expect(posts(gateway)).toBe(1);
    expect(await auditEventFor(gateway, id)).toEqual([expect.objectContaining({ outcome: 'invalid', status: 422 })]);
  });

  test('when the key is reused while the first request is in flight, then 409', async () => {
    const key = `k-${Date.now()}`;
    const secret = exampleSecret();
    gateway.vonage.setFault({ kind: 'slow', delayMs: 300 }, 1);
    const first = create(key, secret).then((r) => r);
    await until(() => posts(gateway) === 1);

    const second = await create(key, secret);

    expect(second.status).toBe(409);
    expect(second.headers['retry-after']).toBe('1');
    expect((await first).status).toBe(201);
    expect(posts(gateway)).toBe(1);
  });

  test('when another caller uses the same key, then it is a separate request', async () => {
    const key = `k-${Date.now()}`;
    await create(key, exampleSecret()).expect(201);

    const other = await create(key, exampleSecret(), asCaller('alice@example.com', 'platform-admins'));

    expect(other.status).toBe(409); // Vonage's own rule: the account now has 2 secrets
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(posts(gateway)).toBe(2);
  });

  test('when the first attempt fails upstream, then the key is released and a retry with it creates the secret', async () => {
    const key = `k-${Date.now()}`;
    const secret = exampleSecret();
    gateway.vonage.setFault({ kind: 'server-error', status: 500 }, 1);

    const failed = await create(key, secret);
    const retried = await create(key, secret);

    expect(failed.status).toBe(502);
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
  });

  test('when the key is stored, then neither the secret nor an unkeyed hash of the request is', async () => {
    const key = `k-${Date.now()}`;
    const secret = exampleSecret();
    await create(key, secret).expect(201);

    const row = await gateway.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('key', '=', key)
      .executeTakeFirstOrThrow();

    const unkeyed = createHash('sha256')
      .update(JSON.stringify(['create', MASTER_KEY, secret]))
      .digest();
    expect(row.fingerprint.equals(unkeyed)).toBe(false);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(row).toMatchObject({ caller: 'admin@example.com', state: 'done', response_status: 201 });
  });

  test('when keys have expired, then the sweep removes them and keeps live ones', async () => {
    const live = `k-live-${Date.now()}`;
    await create(live, exampleSecret()).expect(201);
    await sql`insert into idempotency_keys (caller, key, fingerprint, state, locked_until, expires_at)
      values ('old@example.com', ${`k-old-${Date.now()}`}, '\\x00', 'done', now(), now() - interval '1 hour')`.execute(
      gateway.db,
    );

    const deleted = await sweepExpiredKeys(gateway.db);

    expect(deleted).toBeGreaterThanOrEqual(1);
    const left = await gateway.db
      .selectFrom('idempotency_keys')
      .select('key')
      .where((eb) => eb.or([eb('caller', '=', 'old@example.com'), eb('key', '=', live)]))
      .execute();
    expect(left.map((r) => r.key)).toEqual([live]);
  });

  test.each([
    ['a space', 'has space'],
    ['too long', 'k'.repeat(256)],
  ])('when the key has %s, then 400 names the header', async (_label, key) => {
    const res = await create(key, exampleSecret());

    expect(res.status).toBe(400);
    expect(res.body.invalid_params).toEqual([
      expect.objectContaining({ name: expect.stringMatching(/idempotency-key/i) }),
    ]);
    expect(posts(gateway)).toBe(0);
  });
});
