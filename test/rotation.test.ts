import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import supertest from 'supertest';
import { runAuditCli } from '../src/cli/audit.ts';
import { createApp } from '../src/http/app.ts';
import { expectToMatchContract } from './support/contract.ts';
import {
  admin,
  asCaller,
  auditorDatabaseUrl,
  openGateway,
  type OpenGateway,
  requestId,
  until,
} from './support/harness.ts';
import { captured } from './support/cli.ts';

/**
 * Guided rotation on the real Postgres and the fake Vonage. Each test uses an account of its own, so
 * the fake's 2-secret limit and the one-rotation-at-a-time rule never couple two tests.
 */
const ACCOUNTS = ['rota0001', 'rota0002', 'rota0003', 'rota0004', 'rota0005', 'rota0006', 'rota0007', 'rota0008'];
const RACES = ['race0001', 'race0002', 'race0003', 'race0004', 'race0005', 'race0006'];
let parts: OpenGateway;
let http: ReturnType<typeof supertest>;
beforeAll(async () => {
  parts = await openGateway({ subAccounts: [...ACCOUNTS, ...RACES] });
  http = supertest(createServer(createApp(parts.gateway.app)));
});
afterAll(async () => {
  await parts.close();
});

const ROTATIONS = '/v1/accounts/{apiKey}/rotations';
/** A rotation row as a process that died mid-step leaves it: in `state`, with nothing after. */
async function crashedRotation(apiKey: string, state: 'creating' | 'testing', startedBy = 'admin@example.com') {
  const [retire] = ids(apiKey);
  const crashedId = crypto.randomUUID();
  await parts.gateway.app.db
    .insertInto('rotations')
    .values({ id: crashedId, api_key: apiKey, state, retire_secret_id: retire as string, started_by: startedBy })
    .execute();
  return { crashedId, retire: retire as string };
}

/** A second gateway over the same Postgres and fake Vonage, as after a restart, whose rotation lease is over. */
const restarted = () => openGateway({ subAccounts: [...ACCOUNTS, ...RACES], vonage: parts.vonage, rotationLeaseMs: 0 });
const ids = (apiKey: string) => parts.vonage.secretsOf(apiKey).map((s) => s.id);
const start = (apiKey: string, body: Record<string, string | undefined>, headers: Record<string, string> = {}) =>
  http.post(`/v1/accounts/${apiKey}/rotations`).set(admin).set(headers).send(body);
const step = (apiKey: string, id: string, name: 'complete' | 'cancel') =>
  http.post(`/v1/accounts/${apiKey}/rotations/${id}/${name}`).set(admin);
const stepsOf = (rotationId: string) =>
  parts.gateway.app.db
    .selectFrom('audit_events as e')
    .leftJoin('audit_outcomes as o', 'o.event_id', 'e.id')
    .select(['e.action', 'e.secret_id', 'o.outcome', 'o.status'])
    .where('e.rotation_id', '=', rotationId)
    .orderBy('e.id')
    .execute();

describe('POST /v1/accounts/:apiKey/rotations', () => {
  test('when a rotation runs start to complete, then the new secret works, the old one is gone, and every step is audited', async () => {
    const [apiKey, [retire]] = ['rota0001', ids('rota0001')];

    const started = await start(apiKey, { retire_secret_id: retire });

    expect(started.status).toBe(201);
    expectToMatchContract(started, 'post', ROTATIONS);
    expect(started.body).toMatchObject({
      state: 'awaiting_cutover',
      retire_secret_id: retire,
      started_by: 'admin@example.com',
    });
    expect(started.body.secret).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{24}$/);
    expect(started.headers['cache-control']).toBe('no-store');
    const newId = started.body.new_secret.id;
    expect(ids(apiKey)).toEqual([retire, newId]);
    const asAccount = parts.vonage.received
      .filter((r) => r.method === 'GET' && r.path === `/accounts/${apiKey}/secrets`)
      .map((r) => Buffer.from(r.authorization?.slice(6) ?? '', 'base64').toString())
      .filter((credentials) => credentials.startsWith(`${apiKey}:`));
    expect(asAccount).toEqual([`${apiKey}:${started.body.secret}`]);

    const completed = await step(apiKey, started.body.id, 'complete');
    const again = await step(apiKey, started.body.id, 'complete');

    expect(completed.status).toBe(200);
    expect(completed.body.state).toBe('completed');
    expect(again.body.state).toBe('completed'); // a repeated step is safe
    expect(ids(apiKey)).toEqual([newId]);
    expect(await stepsOf(started.body.id)).toEqual([
      { action: 'secret.create', secret_id: null, outcome: 'success', status: 201 },
      { action: 'secret.test', secret_id: newId, outcome: 'success', status: 200 },
      { action: 'secret.revoke', secret_id: retire, outcome: 'success', status: 204 },
    ]);
  });

  test('when a rotation is cancelled, then the new secret is revoked and the old one stays', async () => {
    const [apiKey, [retire]] = ['rota0002', ids('rota0002')];
    const started = await start(apiKey, { retire_secret_id: retire, secret: 'Chosen5ecretValue' });
    expect(started.body.secret).toBeUndefined(); // the caller chose it, so it is not echoed

    const cancelled = await step(apiKey, started.body.id, 'cancel');
    const completeAfter = await step(apiKey, started.body.id, 'complete');

    expect(cancelled.body.state).toBe('cancelled');
    expect(ids(apiKey)).toEqual([retire]);
    expect(completeAfter.status).toBe(409);
    expect(completeAfter.body.detail).toMatch(/is cancelled/);
  });

  test('when the account already has 2 secrets, then 409 names the other; with discard_secret_id it is revoked first', async () => {
    const apiKey = 'rota0003';
    const [retire] = ids(apiKey);
    await http.post(`/v1/accounts/${apiKey}/secrets`).set(admin).send({ secret: 'Second5ecretValue' }).expect(201);
    const other = ids(apiKey)[1] as string;

    const refused = await start(apiKey, { retire_secret_id: retire });
    const withDiscard = await start(apiKey, { retire_secret_id: retire, discard_secret_id: other });

    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain(`"discard_secret_id": "${other}"`);
    expect(withDiscard.status).toBe(201);
    expect(ids(apiKey)).toEqual([retire, withDiscard.body.new_secret.id]);
    expect((await stepsOf(withDiscard.body.id)).map((s) => `${s.action} ${s.outcome}`)).toEqual([
      'secret.revoke success',
      'secret.create success',
      'secret.test success',
    ]);
  });

  test('when Vonage refuses the new secret at the test step, then 502, the new secret is revoked and nothing is left behind', async () => {
    const [apiKey, [retire]] = ['rota0004', ids('rota0004')];
    parts.vonage.setAccountAuth(false);
    try {
      const res = await start(apiKey, { retire_secret_id: retire });

      expect(res.status).toBe(502);
      expect(ids(apiKey)).toEqual([retire]);
      const [rotation] = await parts.gateway.app.db
        .selectFrom('rotations')
        .selectAll()
        .where('api_key', '=', apiKey)
        .execute();
      expect(rotation?.state).toBe('failed');
      expect((await stepsOf(rotation?.id ?? '')).map((s) => `${s.action} ${s.outcome}`)).toEqual([
        'secret.create success',
        'secret.test upstream_failed',
        'secret.revoke success',
      ]);
    } finally {
      parts.vonage.setAccountAuth(true);
    }
  });

  test('when the same Idempotency-Key is sent again, then 409 says the secret is not shown again and no second rotation starts', async () => {
    const [apiKey, [retire]] = ['rota0005', ids('rota0005')];
    const key = { 'Idempotency-Key': requestId('rotation') };

    const first = await start(apiKey, { retire_secret_id: retire }, key);
    const replay = await start(apiKey, { retire_secret_id: retire }, key);

    expect(first.status).toBe(201);
    expect(replay.status).toBe(409);
    expect(replay.body.detail).toMatch(/shown once and is not shown again/);
    expect(JSON.stringify(replay.body)).not.toContain(first.body.secret);
    expect(ids(apiKey)).toHaveLength(2);
  });

  test('when a second rotation starts while one awaits cutover, then 409 names the first', async () => {
    const [apiKey, [retire]] = ['rota0006', ids('rota0006')];
    const first = await start(apiKey, { retire_secret_id: retire });

    const second = await start(apiKey, { retire_secret_id: first.body.new_secret.id, discard_secret_id: retire });

    expect(second.status).toBe(409);
    expect(second.body.detail).toContain(first.body.id);
  });

  test('when the caller may create but not revoke, then 403 and the refusal is audited as rotation.start', async () => {
    const id = requestId('rotation-denied');
    const res = await http
      .post('/v1/accounts/sub00001/rotations')
      .set(asCaller('alice@example.com'))
      .set('X-Request-Id', id)
      .send({ retire_secret_id: ids('sub00001')[0] });

    expect(res.status).toBe(403);
    const [event] = await parts.gateway.app.db
      .selectFrom('audit_events')
      .select('action')
      .where('request_id', '=', id)
      .execute();
    expect(event?.action).toBe('rotation.start');
  });
});

describe('a rotation a crash interrupted', () => {
  test.each([
    ['between create and test (the new secret is known)', 'testing'],
    ['during create (the new secret is not known yet)', 'creating'],
  ] as const)(
    'when the gateway restarts after a crash %s, then the next call revokes the orphan and goes on',
    async (_label, state) => {
      const apiKey = state === 'testing' ? 'rota0007' : 'rota0008';
      const { crashedId, retire } = await crashedRotation(apiKey, state);
      const orphan = (await parts.gateway.app.vonage.create(apiKey, 'Orphan5ecretValue')).value;
      if (state === 'testing')
        await sql`update rotations set new_secret_id = ${orphan.id} where id = ${crashedId}`.execute(
          parts.gateway.app.db,
        );
      const after = await restarted();
      const http2 = supertest(createServer(createApp(after.gateway.app)));

      const next = await http2.post(`/v1/accounts/${apiKey}/rotations`).set(admin).send({ retire_secret_id: retire });

      expect(next.status).toBe(201);
      expect(ids(apiKey)).toEqual([retire, next.body.new_secret.id]);
      expect(ids(apiKey)).not.toContain(orphan.id);
      const crashed = await http2.get(`/v1/accounts/${apiKey}/rotations/${crashedId}`).set(admin);
      await after.close();
      expect(crashed.body).toMatchObject({ state: 'failed', failure: expect.stringMatching(/interrupted/) });
      expect((await stepsOf(crashedId)).map((s) => `${s.action} ${s.secret_id} ${s.outcome}`)).toEqual([
        `secret.revoke ${orphan.id} success`,
      ]);
    },
  );
});

describe('POST /v1/accounts/:apiKey/rotations/:rotationId/{complete,cancel} racing each other', () => {
  const revokesOf = (apiKey: string) =>
    parts.vonage.received.filter((r) => r.method === 'DELETE' && r.path.includes(`/accounts/${apiKey}/`)).length;

  test.each([
    ['two completes', 'race0001', 'complete', 'complete', 'completing'],
    ['a complete, then a cancel', 'race0002', 'complete', 'cancel', 'completing'],
    ['a cancel, then a complete', 'race0003', 'cancel', 'complete', 'cancelling'],
  ] as const)(
    'when %s overlap, then one revokes and the other gets a 409 naming the state',
    async (_label, apiKey, first, second, claimed) => {
      const [retire] = ids(apiKey);
      const started = await start(apiKey, { retire_secret_id: retire });
      const revokesBefore = revokesOf(apiKey);
      parts.vonage.setFault({ kind: 'slow', delayMs: 300 }, 1);

      const winner = step(apiKey, started.body.id, first).then((res) => res);
      await until(() => revokesOf(apiKey) > revokesBefore);
      const loser = await step(apiKey, started.body.id, second);

      expect((await winner).status).toBe(200);
      expect(loser.status).toBe(409);
      expect(loser.body).toMatchObject({
        title: 'Refused by the gateway: rotation state',
        detail: expect.stringContaining(`is ${claimed}`),
      });
      expect(revokesOf(apiKey)).toBe(revokesBefore + 1);
      const outcomes = await parts.gateway.app.db
        .selectFrom('audit_events as e')
        .innerJoin('audit_outcomes as o', 'o.event_id', 'e.id')
        .select(['e.action', 'o.status', 'o.outcome'])
        .where('e.api_key', '=', apiKey)
        .where('e.action', 'in', ['rotation.complete', 'rotation.cancel'])
        .execute();
      expect(outcomes).toEqual([{ action: `rotation.${second}`, status: 409, outcome: 'conflict' }]);
    },
  );

  test('when a complete and a cancel are sent at the same instant, then exactly one succeeds and one revoke reaches Vonage', async () => {
    const apiKey = 'race0004';
    const [retire] = ids(apiKey);
    const started = await start(apiKey, { retire_secret_id: retire });
    const revokesBefore = revokesOf(apiKey);

    const answers = await Promise.all([
      step(apiKey, started.body.id, 'complete'),
      step(apiKey, started.body.id, 'cancel'),
    ]);

    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(revokesOf(apiKey)).toBe(revokesBefore + 1);
    expect(ids(apiKey)).toHaveLength(1);
  });
});

describe('DELETE /v1/accounts/:apiKey/secrets/:secretId during a rotation', () => {
  test.each([
    ['the secret it retires', (started: { retire: string; newId: string }) => started.retire],
    ['its new secret', (started: { retire: string; newId: string }) => started.newId],
  ])(
    'when someone revokes %s by hand, then 409 names the rotation, nothing reaches Vonage, and the refusal is audited',
    async (_label, pick) => {
      const apiKey = 'race0006';
      const [retire] = ids(apiKey);
      const started = await start(apiKey, { retire_secret_id: retire });
      const target = pick({ retire: retire as string, newId: started.body.new_secret.id });
      const deletesBefore = parts.vonage.received.filter((r) => r.method === 'DELETE').length;
      const id = requestId('held-revoke');

      const res = await http.delete(`/v1/accounts/${apiKey}/secrets/${target}`).set(admin).set('X-Request-Id', id);
      await step(apiKey, started.body.id, 'cancel');

      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        title: 'Refused by the gateway: rotation state',
        detail: expect.stringContaining(started.body.id),
      });
      expect(parts.vonage.received.filter((r) => r.method === 'DELETE').length).toBe(deletesBefore + 1); // the cancel's
      const rows = await parts.gateway.app.db
        .selectFrom('audit_events as e')
        .innerJoin('audit_outcomes as o', 'o.event_id', 'e.id')
        .select(['e.action', 'o.outcome', 'o.status'])
        .where('e.request_id', '=', id)
        .execute();
      expect(rows).toEqual([{ action: 'secret.revoke', outcome: 'conflict', status: 409 }]);
    },
  );
});

describe('a crashed rotation and a secret someone else created', () => {
  test('when an engineer creates a secret after a rotation crashed mid-create, then cleaning up the rotation leaves that secret alone', async () => {
    const apiKey = 'race0005';
    const { crashedId, retire } = await crashedRotation(apiKey, 'creating', 'x@example.com');
    const engineers = await http
      .post(`/v1/accounts/${apiKey}/secrets`)
      .set(admin)
      .send({ secret: 'Engineer5ecretValue' });
    expect(engineers.status).toBe(201);
    const after = await restarted();

    const cancelled = await supertest(createServer(createApp(after.gateway.app)))
      .post(`/v1/accounts/${apiKey}/rotations/${crashedId}/cancel`)
      .set(admin);
    await after.close();

    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'failed', failure: 'interrupted before Vonage created its secret' });
    expect(ids(apiKey)).toEqual([retire, engineers.body.id]);
    expect(await stepsOf(crashedId)).toEqual([]);
  });
});

describe('GET /v1/accounts/:apiKey/rotations', () => {
  test('when a reader lists rotations, then they see ids and states and never a secret value', async () => {
    const res = await http.get('/v1/accounts/rota0001/rotations').set(admin);

    expect(res.status).toBe(200);
    expectToMatchContract(res, 'get', ROTATIONS);
    expect(res.body.rotations[0]).toMatchObject({ api_key: 'rota0001', state: 'completed' });
    expect(JSON.stringify(res.body)).not.toMatch(/"secret":/);
  });
});

describe('npm run audit -- rotations', () => {
  test('when a reviewer lists the last hour as the auditor role, then each rotation prints with its steps and actors', async () => {
    const { code, output } = await captured(runAuditCli, ['rotations', '--since', '1h'], {
      DATABASE_URL: auditorDatabaseUrl(),
    });

    expect(code).toBe(0);
    expect(output).toMatch(/^[0-9a-f-]{36} {2}rota0001 {2}completed {2}started \S+ by admin@example\.com$/m);
    expect(output).toMatch(/^ {2}\S+ {2}secret\.test +success +200 {2}[0-9a-f-]{36} {2}by admin@example\.com$/m);
  });

  test('when a reviewer lists rotations, then the create step names the secret it made', async () => {
    const { output } = await captured(runAuditCli, ['rotations', '--since', '1h'], {
      DATABASE_URL: auditorDatabaseUrl(),
    });

    expect(output).toMatch(/^ {2}\S+ {2}secret\.create +success +201 {2}[0-9a-f-]{36} {2}by admin@example\.com$/m);
  });

  test('when a reviewer asks for --format json, then each rotation is one JSON line with its steps', async () => {
    const { code, output } = await captured(runAuditCli, ['rotations', '--since', '1h', '--format', 'json'], {
      DATABASE_URL: auditorDatabaseUrl(),
    });
    const rotations = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { steps: Array<{ action: string }> });

    expect(code).toBe(0);
    expect(rotations.length).toBeGreaterThan(0);
    expect(rotations.flatMap((r) => r.steps).find((step) => step.action === 'secret.create')).toMatchObject({
      outcome: 'success',
      secret_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  test('when a reviewer asks for --format csv, then a header and one row of 11 cells per step come back', async () => {
    const { code, output } = await captured(runAuditCli, ['rotations', '--since', '1h', '--format', 'csv'], {
      DATABASE_URL: auditorDatabaseUrl(),
    });
    const [header, ...rows] = output.trim().split('\r\n');

    expect(code).toBe(0);
    expect(header).toBe(
      'rotation_id,api_key,state,started_at,started_by,step_at,action,outcome,status,secret_id,actor',
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((row) => row.split(',').length === 11)).toBe(true);
  });
});
