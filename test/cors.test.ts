import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { resolveJwtSettings } from '../src/identity/jwt-settings.ts';
import { admin, type Gateway, MASTER_KEY, startGateway } from './support/harness.ts';

/** CORS for internal web apps: a listed origin may call the API from the browser; nobody else may. */
const LISTED = 'https://payments-ui.corp.example';
const UNLISTED = 'https://evil.example';
const SECRETS = `/v1/accounts/${MASTER_KEY}/secrets`;

let gateway: Gateway;
let closed: Gateway;
beforeAll(async () => {
  gateway = await startGateway({ allowedOrigins: [LISTED] });
  closed = await startGateway();
});
afterAll(async () => {
  await Promise.all([gateway.close(), closed.close()]);
});

const preflight = (target: Gateway, origin: string) =>
  target.http
    .options(SECRETS)
    .set('Origin', origin)
    .set('Access-Control-Request-Method', 'POST')
    .set('Access-Control-Request-Headers', 'content-type,idempotency-key');

describe('OPTIONS /v1/accounts/:apiKey/secrets (preflight)', () => {
  test("when a listed origin asks, then 204 without identity, with credentials and exactly the contract's methods and headers", async () => {
    const res = await preflight(gateway, LISTED);

    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(LISTED);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toBe('GET,POST,DELETE');
    expect(res.headers['access-control-allow-headers']).toBe('Content-Type,Idempotency-Key,X-Request-Id');
    expect(res.headers.vary).toMatch(/Origin/);
  });

  test.each([
    ['an unlisted origin', () => preflight(gateway, UNLISTED)],
    ['any origin when none is listed', () => preflight(closed, LISTED)],
  ])('when %s asks, then no Access-Control-Allow-* header is sent', async (_label, send) => {
    const res = await send();

    expect(res.status).toBe(403);
    expect(Object.keys(res.headers).filter((name) => name.startsWith('access-control-allow'))).toEqual([]);
  });

  test('when jwt mode is on, then Authorization is among the allowed request headers', async () => {
    const { settings } = resolveJwtSettings({
      AUTH_JWT_PRESET: 'oidc-bearer',
      AUTH_JWT_ISSUER: 'https://idp.invalid',
      AUTH_JWT_AUDIENCE: 'ui',
    });
    const jwt = await startGateway({ allowedOrigins: [LISTED], jwt: settings });
    try {
      const res = await preflight(jwt, LISTED);

      expect(res.headers['access-control-allow-headers']).toBe(
        'Content-Type,Idempotency-Key,X-Request-Id,Authorization',
      );
    } finally {
      await jwt.close();
    }
  });
});

describe('GET /v1/accounts/:apiKey/secrets from a browser on another origin', () => {
  test('when the origin is listed, then it is served and the response headers a UI needs are exposed', async () => {
    const res = await gateway.http.get(SECRETS).set(admin).set('Origin', LISTED).set('Sec-Fetch-Site', 'same-site');

    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(LISTED);
    expect(res.headers['access-control-expose-headers']).toBe(
      'X-Request-Id,RateLimit,RateLimit-Policy,Retry-After,Location,Idempotent-Replayed',
    );
  });

  test('when the origin is not listed, then 403 cross-site-request and no CORS headers', async () => {
    const res = await gateway.http.get(SECRETS).set(admin).set('Origin', UNLISTED).set('Sec-Fetch-Site', 'cross-site');

    expect(res.status).toBe(403);
    expect(res.body.type).toBe('urn:vonage-gateway:problem:cross-site-request');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
