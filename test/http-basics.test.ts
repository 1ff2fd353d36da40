import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { admin, type Gateway, MASTER_KEY, startGateway } from './support/harness.ts';

let gateway: Gateway;
beforeAll(async () => {
  gateway = await startGateway();
});
afterAll(async () => {
  await gateway.close();
});

const parsedLogs = () => gateway.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('every response', () => {
  test.each([
    ['a well-formed id', 'rotator-2026.11.27:42', 'rotator-2026.11.27:42'],
    ['an id with spaces', 'has spaces', null],
    ['an id that is too long', 'x'.repeat(200), null],
  ])('when the caller sends %s as X-Request-Id, then it is kept only if well-formed', async (_label, sent, kept) => {
    const res = await gateway.http.get('/healthz').set('X-Request-Id', sent);

    if (kept) expect(res.headers['x-request-id']).toBe(kept);
    else expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('when any route answers, then helmet headers are present and X-Powered-By is not', async () => {
    const res = await gateway.http.get('/healthz');

    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });
});

describe('unknown routes', () => {
  test.each([
    ['GET', '/v1/nothing-here'],
    ['GET', '/nothing-here'],
    ['POST', '/v1/accounts/abcd1234/secrets/extra/segments'],
  ])('when %s %s is requested, then 404 problem+json', async (method, path) => {
    const res = await gateway.http[method.toLowerCase() as 'get' | 'post'](path).set(admin);

    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 404, title: 'Not found', request_id: res.headers['x-request-id'] });
  });

  test('when a documented path gets an undocumented method, then 405 problem+json', async () => {
    const res = await gateway.http.put(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).send({});

    expect(res.status).toBe(405);
    expect(res.headers.allow).toMatch(/GET/);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('the request log', () => {
  test('when a create succeeds, then one JSON line holds the request facts and no body or header values', async () => {
    const secret = exampleSecret();
    const res = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('Cookie', 'session=abc123')
      .send({ secret });

    const line = parsedLogs().find(
      (entry) => entry.request_id === res.headers['x-request-id'] && entry.message === 'request',
    );

    expect(line).toEqual({
      level: 'info',
      message: 'request',
      timestamp: expect.any(String),
      request_id: res.headers['x-request-id'],
      actor: 'admin@example.com',
      method: 'POST',
      route: '/v1/accounts/:apiKey/secrets',
      status: 201,
      duration_ms: expect.any(Number),
      upstream_status: 201,
      upstream_duration_ms: expect.any(Number),
      upstream_attempts: 1,
    });
    expect(gateway.logLines.join('\n')).not.toContain('abc123');
  });
});

describe('HTTP as RFC 9110 says', () => {
  test.each([
    ['/v1/me', admin],
    [`/v1/accounts/${MASTER_KEY}/secrets`, admin],
    ['/healthz', {}],
    ['/openapi.json', {}],
  ])('when HEAD %s is asked, then it answers as GET does, without a body', async (path, who) => {
    const get = await gateway.http.get(path).set(who);
    const head = await gateway.http.head(path).set(who);

    expect(head.status).toBe(200);
    expect(head.status).toBe(get.status);
    expect(head.headers['content-type']).toBe(get.headers['content-type']);
    expect(head.headers['cache-control']).toBe(get.headers['cache-control']);
    expect(head.text ?? '').toBe('');
  });

  test.each(['*', '"anything"', 'W/"x"'])(
    'when a no-store answer is asked with If-None-Match: %s, then the full answer comes back, never an empty 304',
    async (tag) => {
      const res = await gateway.http.get('/v1/me').set(admin).set('If-None-Match', tag);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ email: 'admin@example.com' });
    },
  );

  test.each(['/healthz', '/openapi.json'])(
    'when %s (no validator of its own) is asked with If-None-Match: *, then the full answer comes back',
    async (path) => {
      const res = await gateway.http.get(path).set('If-None-Match', '*');

      expect(res.status).toBe(200);
      expect(res.text.length).toBeGreaterThan(0);
    },
  );
});
