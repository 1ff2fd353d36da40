import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import supertest from 'supertest';
import { createApp } from '../src/http/app.ts';
import { expectToMatchContract } from './support/contract.ts';
import { esoClient } from './support/eso-client.ts';
import { admin, asCaller, basicAuth, openGateway, type OpenGateway, requestId } from './support/harness.ts';

/**
 * Delivery through External Secrets Operator's Webhook generator, end to end: a client that does what ESO
 * does with the shipped manifests, the real app listening on a port, a real Postgres and the fake Vonage.
 * Each test has an account (the fake's 2-secret limit) and a consumer name of its own (names are never reused).
 */
const ACCOUNTS = Array.from({ length: 16 }, (_, i) => `deli${String(i + 1).padStart(4, '0')}`);
const POLICY = `
accounts: [abcd1234, sub00001, ${ACCOUNTS.join(', ')}]
grants:
  - group: platform-admins
    accounts: ["*"]
    actions: [secrets:read, secrets:create, secrets:revoke, consumers:manage, audit:read]
  - email: alice@example.com
    accounts: ["*"]
    actions: [secrets:read, secrets:create, secrets:revoke]
`;
const alice = asCaller('alice@example.com');
let parts: OpenGateway;
let server: Server;
let origin: string;
let http: ReturnType<typeof supertest>;

beforeAll(async () => {
  parts = await openGateway({ subAccounts: ACCOUNTS, policy: POLICY });
  server = createServer(createApp(parts.gateway.app));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  http = supertest(server);
});
afterAll(async () => {
  await new Promise((done) => server.close(done));
  await parts.close();
});

const db = () => parts.gateway.app.db;
const ids = (apiKey: string) => parts.vonage.secretsOf(apiKey).map((s) => s.id);
const nameFor = (label: string) => `${label}-${process.pid}`;
const CONSUMERS = '/v1/accounts/{apiKey}/consumers';

async function register(apiKey: string, label: string) {
  const name = nameFor(label);
  const res = await http.post(`/v1/accounts/${apiKey}/consumers`).set(admin).send({ name });
  expect(res.status).toBe(201);
  return { name, token: res.body.token as string, eso: esoClient(name, res.body.token, origin) };
}

/** The minimum interval passing, without waiting: the last delivery moved two hours back. */
const timePasses = (name: string) =>
  sql`update consumers set last_delivery_at = last_delivery_at - interval '2 hours' where name = ${name}`.execute(db());

const stepsOf = (name: string) =>
  db()
    .selectFrom('audit_events as e')
    .leftJoin('audit_outcomes as o', 'o.event_id', 'e.id')
    .select(['e.action', 'e.secret_id', 'o.outcome', 'o.status', 'o.created_secret_id'])
    .where('e.actor_email', '=', `consumer:${name}`)
    .orderBy('e.id')
    .execute();
const stepText = (steps: Awaited<ReturnType<typeof stepsOf>>) =>
  steps.map((s) => `${s.action} ${s.secret_id ?? s.created_secret_id ?? '-'} ${s.outcome}`);

/** Authenticates at the fake Vonage as the account, with the delivered credentials. */
const authenticates = async (apiKey: string, secret: string) =>
  (
    await fetch(`${parts.vonage.url}/accounts/${apiKey}/secrets`, {
      headers: { authorization: basicAuth(apiKey, secret) },
    })
  ).status === 200;

describe('POST /v1/accounts/:apiKey/consumers', () => {
  test('when an admin registers a consumer, then the token is shown once, only its HMAC is stored, and it is audited', async () => {
    const rid = requestId('register');

    const res = await http
      .post('/v1/accounts/deli0001/consumers')
      .set(admin)
      .set('X-Request-Id', rid)
      .send({ name: nameFor('reg'), interval_seconds: 86_400 });

    expect(res.status).toBe(201);
    expectToMatchContract(res, 'post', CONSUMERS);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ name: nameFor('reg'), api_key: 'deli0001', delivery: 'on', last_delivery: null });
    expect(res.body.token).toMatch(/^vsgd_[A-Za-z0-9_-]{43}$/);
    const listed = await http.get('/v1/accounts/deli0001/consumers').set(admin);
    expectToMatchContract(listed, 'get', CONSUMERS);
    const located = await http.get(res.headers.location as string).set(admin);
    expectToMatchContract(located, 'get', `${CONSUMERS}/{name}`);
    expect(located.body).toEqual(listed.body.consumers[0]);
    expect(JSON.stringify(listed.body)).not.toContain(res.body.token);
    const row = await db().selectFrom('consumers').selectAll().where('name', '=', nameFor('reg')).executeTakeFirst();
    expect(row?.token_hmac).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(res.body.token.slice(5));
    const audit = await db()
      .selectFrom('audit_events as e')
      .innerJoin('audit_outcomes as o', 'o.event_id', 'e.id')
      .select(['e.action', 'e.actor_email', 'e.api_key', 'o.outcome', 'o.status'])
      .where('e.request_id', '=', rid)
      .execute();
    expect(audit).toEqual([
      {
        action: 'consumer.register',
        actor_email: 'admin@example.com',
        api_key: 'deli0001',
        outcome: 'success',
        status: 201,
      },
    ]);
  });

  test.each([
    ['a caller without consumers:manage', 'deli0002', 'alice', 'first', 403, 'denied'],
    ['a second consumer on an account that has one', 'deli0001', 'admin', 'second', 409, 'conflict'],
    ['a name used before', 'deli0002', 'admin', 'reg', 409, 'conflict'],
  ] as const)(
    'when %s registers, then %#: refused and audited',
    async (_label, apiKey, who, label, status, outcome) => {
      const rid = requestId('register-refused');

      const res = await http
        .post(`/v1/accounts/${apiKey}/consumers`)
        .set(who === 'alice' ? alice : admin)
        .set('X-Request-Id', rid)
        .send({ name: nameFor(label) });

      expect(res.status).toBe(status);
      expect(res.body.title).toMatch(status === 409 ? /^Refused by the gateway/ : /Forbidden/);
      const [row] = await db()
        .selectFrom('audit_events as e')
        .innerJoin('audit_outcomes as o', 'o.event_id', 'e.id')
        .select(['o.outcome'])
        .where('e.request_id', '=', rid)
        .execute();
      expect(row?.outcome).toBe(outcome);
    },
  );
});

describe('POST /v1/deliveries (ESO Webhook generator)', () => {
  test('when the first delivery comes for an account with one secret, then ESO gets working credentials and nothing is revoked', async () => {
    const [original] = ids('deli0003');
    const { name, eso } = await register('deli0003', 'first');

    const res = await eso.refresh();

    expect(res.status).toBe(200);
    const data = eso.target().data;
    expect(Object.keys(data).sort()).toEqual(['api_key', 'api_secret', 'created_at', 'secret_id']);
    expect(data.api_key).toBe('deli0003');
    expect(await authenticates('deli0003', data.api_secret as string)).toBe(true);
    expect(ids('deli0003')).toEqual([original, data.secret_id]);
    expect(eso.target().labels['external-secrets.io/type']).toBe('webhook');
    expect(stepText(await stepsOf(name))).toEqual([
      `secret.create ${data.secret_id} success`,
      `secret.test ${data.secret_id} success`,
    ]);
    const metrics = await parts.gateway.metrics.registry.metrics();
    expect(metrics).toContain(`gateway_deliveries_total{consumer="${name}",outcome="delivered"} 1`);
    expect(metrics).toMatch(
      new RegExp(`gateway_consumer_interval_seconds{consumer="${name}",api_key="deli0003"} 2592000`),
    );
  });

  test('when a delivery and its refusals are answered, then each matches the contract, and only the 200 holds a value', async () => {
    const { token } = await register('deli0016', 'contract');
    const call = (held: string) =>
      http.post('/v1/deliveries').set('Authorization', `Bearer ${token}`).set('X-Held-Secret-Id', held);

    const answers = [await call('<no value>'), await call(''), await call('not-a-secret-id')];

    expect(answers.map((res) => res.status)).toEqual([200, 429, 400]);
    for (const res of answers) expectToMatchContract(res, 'post', '/v1/deliveries');
    expect(answers[0]?.headers['cache-control']).toBe('no-store');
    expect(answers[2]?.body.invalid_params).toEqual([{ name: 'x-held-secret-id', reason: expect.any(String) }]);
    for (const res of answers.slice(1)) expect(res.text).not.toContain(answers[0]?.body.api_secret);
  });

  test('when three generations follow each other, then each keeps the held secret and revokes the one before it', async () => {
    const [original] = ids('deli0004');
    const { name, eso } = await register('deli0004', 'three');
    const held: string[] = [];

    for (let generation = 0; generation < 3; generation += 1) {
      const before = eso.target().data.secret_id;
      const res = await eso.refresh();
      expect(res.status).toBe(200);
      held.push(eso.target().data.secret_id as string);
      expect(ids('deli0004')).toEqual([before ?? original, held.at(-1)]);
      await timePasses(name);
    }

    expect(new Set(held).size).toBe(3);
    expect(ids('deli0004')).toEqual([held[1], held[2]]);
    const revoked = (await stepsOf(name)).filter((s) => s.action === 'secret.revoke').map((s) => s.secret_id);
    expect(revoked).toEqual([original, held[0]]);
  });

  test('when an answer is lost on its way to ESO, then the next call revokes that orphan, never the held secret', async () => {
    const { name, eso } = await register('deli0005', 'lost');
    await eso.refresh();
    const heldId = eso.target().data.secret_id as string;
    await timePasses(name);

    const lost = await eso.refresh({ lose: true });
    await timePasses(name);
    const next = await eso.refresh();

    const orphan = (lost.body as { secret_id: string }).secret_id;
    expect(next.status).toBe(200);
    expect(ids('deli0005')).toEqual([heldId, eso.target().data.secret_id]);
    expect(ids('deli0005')).not.toContain(orphan);
    expect(await authenticates('deli0005', eso.target().data.api_secret as string)).toBe(true);
  });

  test('when a delivery comes within the minimum interval, then 429 with Retry-After, audited, and Vonage untouched', async () => {
    const { name, eso } = await register('deli0006', 'soon');
    await eso.refresh();
    const before = ids('deli0006');
    const calls = parts.vonage.received.length;

    const res = await eso.refresh();

    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ title: 'Refused by the gateway: delivered recently' });
    expect(ids('deli0006')).toEqual(before);
    expect(parts.vonage.received.length).toBe(calls);
    expect(stepText(await stepsOf(name)).at(-1)).toBe('delivery.generate - conflict');
    expect(await parts.gateway.metrics.registry.metrics()).toContain(
      `gateway_deliveries_total{consumer="${name}",outcome="refused"} 1`,
    );
  });

  test('when the new secret fails its test at Vonage, then 502, it is revoked, and the held secret and the Secret stay', async () => {
    const { name, eso } = await register('deli0007', 'untested');
    await eso.refresh();
    const before = { ...eso.target().data };
    await timePasses(name);
    parts.vonage.setAccountAuth(false);

    const res = await eso.refresh().finally(() => parts.vonage.setAccountAuth(true));

    expect(res.status).toBe(502);
    expect(eso.target().data).toEqual(before);
    expect(ids('deli0007')).toEqual([before.secret_id]);
    expect(await authenticates('deli0007', before.api_secret as string)).toBe(true);
  });

  test('when two calls for one consumer race, then one delivers, the other is refused, and one secret is created', async () => {
    const { eso } = await register('deli0008', 'race');
    const creates = () =>
      parts.vonage.received.filter((r) => r.method === 'POST' && r.path === '/accounts/deli0008/secrets').length;

    const statuses = (await Promise.all([eso.refresh({ lose: true }), eso.refresh({ lose: true })])).map(
      (r) => r.status,
    );

    // The loser is refused by the rotation's row (409) or, had the winner finished first, by the interval (429).
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409 || status === 429)).toHaveLength(1);
    expect(creates()).toBe(1);
    expect(ids('deli0008')).toHaveLength(2);
  });

  test('when the account has two secrets and the consumer holds neither, then 409 names both and nothing changes', async () => {
    const extra = await http.post('/v1/accounts/deli0009/secrets').set(admin).send({ secret: 'Second5ecretValue' });
    const before = ids('deli0009');
    const { eso } = await register('deli0009', 'unknown');

    const res = await eso.refresh();

    expect(extra.status).toBe(201);
    expect(res.status).toBe(409);
    expect((res.body as { detail: string }).detail).toContain(before[0]);
    expect((res.body as { detail: string }).detail).toContain(before[1]);
    expect(ids('deli0009')).toEqual(before);
  });
});

describe('a delivery a crash interrupted', () => {
  const restarted = () =>
    openGateway({ subAccounts: ACCOUNTS, policy: POLICY, vonage: parts.vonage, rotationLeaseMs: 0 });

  test.each([
    ['between revoke and create', 'deli0010', false],
    ['between create and its record (Vonage made a secret nobody recorded)', 'deli0011', true],
  ] as const)(
    'when the gateway crashed %s, then the next call cleans up and delivers, keeping the held secret',
    async (_l, apiKey, created) => {
      const { name, token, eso } = await register(apiKey, `crash-${apiKey}`);
      await eso.refresh();
      const heldId = eso.target().data.secret_id as string;
      await timePasses(name);
      const consumer = await db()
        .selectFrom('consumers')
        .select('id')
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      // The crashed call finished the last delivery (one secret left, the held one) and took a new rotation's row.
      await sql`update rotations set state = 'completed' where consumer_id = ${consumer.id}`.execute(db());
      const [old] = ids(apiKey).filter((id) => id !== heldId);
      await parts.gateway.app.vonage.revoke(apiKey, old as string);
      await db()
        .insertInto('rotations')
        .values({
          id: crypto.randomUUID(),
          api_key: apiKey,
          state: 'creating',
          retire_secret_id: heldId,
          started_by: `consumer:${name}`,
          consumer_id: consumer.id,
        })
        .execute();
      const orphan = created
        ? (await parts.gateway.app.vonage.create(apiKey, 'Orphan5ecretValue1')).value.id
        : undefined;
      const after = await restarted();
      const afterServer = createServer(createApp(after.gateway.app));
      await new Promise<void>((done) => afterServer.listen(0, '127.0.0.1', done));
      const restartedOrigin = `http://127.0.0.1:${(afterServer.address() as AddressInfo).port}`;
      const restartedEso = esoClient(name, token, restartedOrigin);
      Object.assign(restartedEso.target().data, eso.target().data);

      const res = await restartedEso.refresh();
      await new Promise((done) => afterServer.close(done));
      await after.close();

      expect(res.status).toBe(200);
      expect(ids(apiKey)).toEqual([heldId, restartedEso.target().data.secret_id]);
      if (orphan) expect(ids(apiKey)).not.toContain(orphan);
    },
  );
});

describe('delivery tokens', () => {
  test.each([
    ['revoked', 'deli0012'],
    ['expired', 'deli0013'],
  ] as const)('when a %s token calls, then 401 and no secret is touched or audited', async (state, apiKey) => {
    const { name, eso } = await register(apiKey, `token-${state}`);
    if (state === 'revoked') await http.delete(`/v1/accounts/${apiKey}/consumers/${name}/token`).set(admin).expect(200);
    else
      await sql`update consumers set token_expires_at = now() - interval '1 second' where name = ${name}`.execute(db());
    const before = ids(apiKey);

    const res = await eso.refresh();

    expect(res.status).toBe(401);
    expect(ids(apiKey)).toEqual(before);
    expect(await stepsOf(name)).toEqual([]);
  });

  test("when a consumer's token is presented anywhere but /v1/deliveries (token as SSO identity), then 401", async () => {
    const { token } = await register('deli0014', 'elsewhere');

    const res = await http.get('/v1/accounts/deli0014/secrets').set('Authorization', `Bearer ${token}`);

    expect(res.status).toBe(401);
  });

  test("when a consumer claims another account's secret as held (another consumer's secret), then only its own account is touched", async () => {
    const { eso } = await register('deli0012', 'other-account-claim');
    const victim = ids('deli0014');
    eso.target().data.secret_id = victim[0] as string;

    const res = await eso.refresh();

    expect(res.status).toBe(200);
    expect(eso.target().data.api_key).toBe('deli0012');
    expect(ids('deli0014')).toEqual(victim);
  });
});

describe('a delivery rotation seen by a person', () => {
  test('when an admin tries to complete, cancel or revoke what a delivery holds, then 409 and Vonage is untouched', async () => {
    const { eso } = await register('deli0015', 'by-hand');
    await eso.refresh();
    const [rotation] = (await http.get('/v1/accounts/deli0015/rotations').set(admin)).body.rotations;
    const before = ids('deli0015');

    const answers = await Promise.all([
      http.post(`/v1/accounts/deli0015/rotations/${rotation.id}/complete`).set(admin),
      http.post(`/v1/accounts/deli0015/rotations/${rotation.id}/cancel`).set(admin),
      http.delete(`/v1/accounts/deli0015/secrets/${eso.target().data.secret_id}`).set(admin),
    ]);

    expect(answers.map((res) => res.status)).toEqual([409, 409, 409]);
    expect(answers[0]?.body.detail).toMatch(/is a delivery/);
    expect(ids('deli0015')).toEqual(before);
    // A delivery waits a whole refresh interval for its cutover by design: never reported as a stale rotation.
    await sql`update rotations set updated_at = now() - interval '100 days' where id = ${rotation.id}`.execute(db());
    const report = await http.get('/v1/reports/secret-age').set(admin);
    expect(report.status).toBe(200);
    const account = report.body.accounts.find((a: { api_key: string }) => a.api_key === 'deli0015');
    expect(account?.stale_rotations).toEqual([]);
  });

  test('when DELIVERY_TOKEN_HMAC_KEY is unset, then registering and delivering answer 503 and nothing is written', async () => {
    const off = await openGateway({ subAccounts: ACCOUNTS, policy: POLICY, vonage: parts.vonage, delivery: false });
    const offHttp = supertest(createServer(createApp(off.gateway.app)));

    const registered = await offHttp
      .post('/v1/accounts/deli0015/consumers')
      .set(admin)
      .send({ name: nameFor('off') });
    const delivered = await offHttp.post('/v1/deliveries').set('Authorization', `Bearer vsgd_${'a'.repeat(43)}`);
    await off.close();

    expect([registered.status, delivered.status]).toEqual([503, 503]);
    expect(registered.body.detail).toMatch(/DELIVERY_TOKEN_HMAC_KEY/);
    expect(await db().selectFrom('consumers').select('id').where('name', '=', nameFor('off')).execute()).toEqual([]);
  });
});
