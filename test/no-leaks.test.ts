import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  admin,
  basicAuth,
  type Gateway,
  MASTER_KEY,
  MASTER_SECRET,
  startGateway,
  SUB_KEY,
  superuserDatabaseUrl,
} from './support/harness.ts';
import { postgresBin } from './support/pg-cluster.ts';

/**
 * Secret values and the Vonage credentials must never be written anywhere we keep: not in a log
 * line, an audit row or an error body. This drives real requests, then searches what was written.
 */

const stamp = Date.now().toString(36);
const created = `Lk${stamp}Q7zz`;
const invalidTooLong = `Tl${stamp}Q7${'y'.repeat(20)}`;
const inBrokenJson = `Bj${stamp}Q7xx`;
const forbidden = [created, invalidTooLong, inBrokenJson, MASTER_SECRET, basicAuth(MASTER_KEY, MASTER_SECRET).slice(6)];

/** Everything the database holds, as a superuser's pg_dump prints it. */
const dumpDatabase = () =>
  execFileSync(join(postgresBin(), 'pg_dump'), ['--data-only', '--dbname', superuserDatabaseUrl()], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });

let gateway: Gateway;
const bodies: string[] = [];
let generated = '';
/** An account of its own for the delivery (one secret, no rotation in progress). */
const LEAK_KEY = 'leak0001';
const delivery = { token: '', secret: '' };
beforeAll(async () => {
  gateway = await startGateway({ subAccounts: [LEAK_KEY] });
  const post = (body: string) =>
    gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('Content-Type', 'application/json')
      .send(body);
  const responses = [
    await post(JSON.stringify({ secret: created })),
    await post(JSON.stringify({ secret: invalidTooLong })),
    await post(`{"secret": "${inBrokenJson}"`),
    await post(JSON.stringify({ secret: created, extra: inBrokenJson })),
  ];
  bodies.push(...responses.map((res) => `${JSON.stringify(res.headers)}\n${res.text}`));
  expect(responses.map((res) => res.status)).toEqual([201, 400, 400, 400]);
  // A rotation whose new secret the gateway generates: shown once in that answer, kept nowhere.
  const retire = gateway.vonage.secretsOf(SUB_KEY)[0]?.id;
  const rotation = await gateway.http
    .post(`/v1/accounts/${SUB_KEY}/rotations`)
    .set(admin)
    .send({ retire_secret_id: retire });
  expect(rotation.status).toBe(201);
  generated = rotation.body.secret;
  await deliverOnce();
});

/** A consumer registered, and one delivery to it: its token and the delivered secret, each shown once. */
async function deliverOnce() {
  const registered = await gateway.http
    .post(`/v1/accounts/${LEAK_KEY}/consumers`)
    .set(admin)
    .send({ name: `no-leaks-${stamp}` });
  expect(registered.status).toBe(201);
  delivery.token = registered.body.token;
  const delivered = await gateway.http.post('/v1/deliveries').set('Authorization', `Bearer ${delivery.token}`);
  expect(delivered.status).toBe(200);
  delivery.secret = delivered.body.api_secret;
  const listed = await gateway.http.get(`/v1/accounts/${LEAK_KEY}/consumers`).set(admin);
  bodies.push(`${JSON.stringify(listed.headers)}\n${listed.text}`);
}
afterAll(async () => {
  await gateway.close();
});

describe('secret values after real create attempts', () => {
  test('when the fake Vonage is inspected, then the created secret did reach it (so the search below is meaningful)', () => {
    expect(gateway.vonage.received.map((r) => r.body)).toContain(JSON.stringify({ secret: created }));
  });

  test.each(forbidden.map((value, index) => [index, value]))(
    'when the captured log lines are searched for value %i, then it is absent',
    (_index, value) => {
      expect(gateway.logLines.length).toBeGreaterThan(3);
      expect(gateway.logLines.join('\n')).not.toContain(value);
    },
  );

  test('when the response bodies and headers are searched, then no secret or credential appears', () => {
    for (const value of forbidden) expect(bodies.join('\n')).not.toContain(value);
  });

  test('when a pg_dump of the whole database is searched, then no secret or credential appears', () => {
    const dump = dumpDatabase();

    expect(dump).toContain('secret.create'); // the dump does hold the audit rows
    for (const value of forbidden) expect(dump).not.toContain(value);
  });
});

describe('a secret the gateway generated for a rotation', () => {
  test('when logs, metrics and a pg_dump are searched, then it appears in none of them', async () => {
    const dump = dumpDatabase();
    const metrics = await gateway.metrics.registry.metrics();

    expect(generated).toMatch(/^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{24}$/);
    expect(dump).toContain('secret.test'); // the rotation's steps are in the dump
    for (const written of [gateway.logLines.join('\n'), metrics, dump]) expect(written).not.toContain(generated);
  });
});

describe('a delivery token and a delivered secret', () => {
  test('when logs, metrics, later answers and a pg_dump are searched, then neither appears in any of them', async () => {
    const dump = dumpDatabase();
    const metrics = await gateway.metrics.registry.metrics();

    expect(delivery.token).toMatch(/^vsgd_/);
    expect(dump).toContain('consumer:no-leaks-'); // the delivery's steps are in the dump
    for (const value of [delivery.token, delivery.token.slice(5), delivery.secret])
      for (const written of [gateway.logLines.join('\n'), metrics, dump, bodies.join('\n')])
        expect(written).not.toContain(value);
  });
});
