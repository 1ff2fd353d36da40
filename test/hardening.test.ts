import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import supertest from 'supertest';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import {
  admin,
  asCaller,
  auditEventFor,
  type Gateway,
  MASTER_KEY,
  requestId,
  reviewer,
  startGateway,
} from './support/harness.ts';

/** Regression tests for the findings of the attacker's and the tired reviewer's review, each named after its attack. */

const OTHER_APP = 'https://payments-ui.corp.example';
let gateway: Gateway;
beforeAll(async () => {
  gateway = await startGateway({
    allowedOrigins: [OTHER_APP],
    rateLimits: { readsPerMinute: 1_000, writesPerMinute: 3 },
  });
});
afterAll(async () => {
  await gateway.close();
});

const reader = asCaller('reader@example.com', 'team-payments');
const cursorOf = (text: string) => Buffer.from(text).toString('base64url');

describe('paths that are not exactly a contract path', () => {
  test.each([
    ['upper-case segments', `/V1/Accounts/${MASTER_KEY}/SECRETS`],
    ['an upper-case collection', `/v1/accounts/${MASTER_KEY}/Secrets`],
    ['a trailing slash', `/v1/accounts/${MASTER_KEY}/secrets/`],
  ])('when a create is sent to %s, then 404, nothing reaches Vonage and nothing is audited', async (_label, path) => {
    for (const caller of [asCaller('case-admin@example.com', 'platform-admins'), reader]) {
      const id = requestId('case');
      const before = gateway.vonage.received.length;

      const res = await gateway.http.post(path).set(caller).set('X-Request-Id', id).send({ secret: exampleSecret() });

      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(gateway.vonage.received).toHaveLength(before);
      expect(await auditEventFor(gateway, id)).toEqual([]);
    }
  });

  test('when a caller without the grant creates on the exact path, then 403 and the refusal is audited', async () => {
    const id = requestId('denied');

    const res = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(asCaller('nobody@example.com', 'team-payments'))
      .set('X-Request-Id', id)
      .send({ secret: exampleSecret() });

    expect(res.status).toBe(403);
    expect(await auditEventFor(gateway, id)).toEqual([expect.objectContaining({ outcome: 'denied', status: 403 })]);
  });
});

describe('inputs that used to reach a 500', () => {
  test.each([
    ['a cursor just over int64', `cursor=${cursorOf('ev:9223372036854775808')}`, 'cursor'],
    ['a leap second', 'since=2026-11-27T23:59:60Z', 'since'],
    ['year zero', 'since=0000-01-01T00:00:00Z', 'since'],
    ['February 30th', 'until=2026-02-30T00:00:00Z', 'until'],
    ['a NUL byte as the actor', 'actor=%00', 'actor'],
    ['a relative time too far back to mean anything', 'since=999999d', 'since'],
  ])('when the audit query carries %s, then 400 naming the parameter', async (_label, query, name) => {
    const res = await gateway.http.get(`/v1/audit-events?${query}`).set(reviewer);

    expect(res.status).toBe(400);
    expect(res.body.invalid_params).toEqual(expect.arrayContaining([expect.objectContaining({ name })]));
  });

  test.each([
    ['a malformed escape in the api key', 'get', '/v1/accounts/%zz/secrets'],
    ['a lone % as the api key', 'post', '/v1/accounts/%/secrets'],
    ['a truncated UTF-8 escape in the secret id', 'delete', `/v1/accounts/${MASTER_KEY}/secrets/%E0%A4%A`],
  ] as const)(
    'when the path carries %s, then 400 problem+json and nothing reaches Vonage',
    async (_label, method, path) => {
      const before = gateway.vonage.received.length;

      const res = await gateway.http[method](path).set(asCaller('escapes@example.com', 'platform-admins'));

      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, invalid_params: [{ name: 'path', reason: expect.any(String) }] });
      expect(res.text).not.toContain('%zz');
      expect(gateway.vonage.received).toHaveLength(before);
    },
  );

  test.each([
    ['a corrupt gzip body', 'gzip'],
    ['a corrupt br body', 'br'],
    ['a deflate body', 'deflate'],
  ])('when a create sends %s, then 415 and nothing reaches Vonage', async (_label, encoding) => {
    const before = gateway.vonage.received.length;

    const res = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(asCaller(`${encoding}@example.com`, 'platform-admins'))
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', encoding)
      .send(Buffer.from('definitely not compressed'));

    expect(res.status).toBe(415);
    expect(gateway.vonage.received).toHaveLength(before);
  });
});

describe('cross-site requests on /v1', () => {
  test.each([
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }],
    ['a foreign Origin', { Origin: 'https://evil.example' }],
    ['Origin: null (a sandboxed frame)', { Origin: 'null' }],
  ])(
    'when a forged create carries %s, then 403 cross-site-request, no audit row, and no budget spent',
    async (_label, headers) => {
      const victim = asCaller(`victim-${requestId('v')}@example.com`, 'platform-admins');
      const ids = [requestId('csrf'), requestId('csrf'), requestId('csrf'), requestId('csrf')];
      for (const id of ids) {
        const res = await gateway.http
          .post(`/v1/accounts/${MASTER_KEY}/secrets`)
          .set(victim)
          .set(headers)
          .set('X-Request-Id', id)
          .set('Content-Type', 'text/plain')
          .send('{"secret":"Forged5ecretValue"}');

        expect(res.status).toBe(403);
        expect(res.body.type).toBe('urn:vonage-gateway:problem:cross-site-request');
        expect(await auditEventFor(gateway, id)).toEqual([]);
      }
      // Four refusals against a budget of three writes: had they counted, this would be 429.
      const own = await gateway.http
        .delete(`/v1/accounts/${MASTER_KEY}/secrets/00000000-0000-4000-8000-000000000000`)
        .set(victim);
      expect(own.status).not.toBe(429);
    },
  );

  test.each([
    ['no Origin or Sec-Fetch-Site (curl, a server-side app)', {}],
    ["the gateway's own origin", { 'Sec-Fetch-Site': 'same-origin' }],
    ['a listed origin', { Origin: OTHER_APP, 'Sec-Fetch-Site': 'same-origin' }],
  ])('when a read carries %s, then it is served', async (_label, headers) => {
    const res = await gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).set(headers);

    expect(res.status).toBe(200);
  });

  test("when the Origin is the gateway's own, then it is served", async () => {
    const server = createServer(gateway.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await supertest(origin).get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).set('Origin', origin);

      expect(res.status).toBe(200);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('caching of /v1 answers', () => {
  test.each([
    ['a list', () => gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin)],
    ['an audit page', () => gateway.http.get('/v1/audit-events').set(reviewer)],
    ['a 401', () => gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`)],
    ['a 404', () => gateway.http.get('/v1/nothing').set(admin)],
  ])('when %s is answered, then Cache-Control is no-store', async (_label, send) => {
    const res = await send();

    expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('GET /v1/audit-events filters as people type them', () => {
  test.each([
    ['an unencoded @ in actor', 'actor=admin@example.com'],
    ['an unencoded : in since', 'since=2026-01-01T00:00:00Z'],
    ['an offset whose + became a space', 'since=2026-01-01T00:00:00+01:00'],
    ['the encoded forms', 'actor=admin%40example.com&since=2026-01-01T00%3A00%3A00Z'],
    ['a relative time', 'since=7d&until=1m'],
    ['the last second the docs allow', 'until=9999-12-31T23:59:59Z'],
  ])('when the query has %s, then 200', async (_label, query) => {
    const res = await gateway.http.get(`/v1/audit-events?${query}`).set(reviewer);

    expect(res.status).toBe(200);
    expect(res.body.events).toBeInstanceOf(Array);
  });
});
