import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { JWTPayload } from 'jose';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { type JwtEnv, resolveJwtSettings } from '../src/identity/jwt-settings.ts';
import { auditEventFor, type Gateway, requestId, startGateway, SUB_KEY } from './support/harness.ts';
import { type Idp, type SigningKey, startIdp } from './support/idp.ts';

/** Pomerium-shaped settings pointed at the local IdP; the per-preset file covers the other proxies' token shapes. */
const AUDIENCE = 'gateway.corp.example';
const HEADER = 'x-pomerium-jwt-assertion';

let idp: Idp;
let key: SigningKey;
let gateway: Gateway;
const settingsFor = (overrides: Partial<JwtEnv> = {}) => {
  const { settings, problems } = resolveJwtSettings({
    AUTH_JWT_PRESET: 'pomerium',
    AUTH_JWT_ISSUER: idp.url,
    AUTH_JWT_AUDIENCE: AUDIENCE,
    AUTH_JWT_JWKS_COOLDOWN_MS: 0,
    ...overrides,
  });
  if (!settings) throw new Error(problems.join('; '));
  return settings;
};
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  iss: idp.url,
  aud: AUDIENCE,
  sub: 'user-123',
  email: 'alice@example.com',
  groups: ['staff'],
  iat: now() - 5,
  exp: now() + 300,
  ...extra,
});
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  idp = await startIdp();
  key = await idp.newKey('ES256');
  gateway = await startGateway({ jwt: settingsFor() });
});
afterAll(async () => {
  await gateway.close();
  await idp.close();
});

const create = (headers: Record<string, string | string[]>, id: string) =>
  gateway.http
    .post(`/v1/accounts/${SUB_KEY}/secrets`)
    .set(headers as Record<string, string>)
    .set('X-Request-Id', id)
    .send({ secret: exampleSecret() });

describe('AUTH_MODE=jwt: POST /v1/accounts/:apiKey/secrets', () => {
  test('when the assertion is valid, then the create goes through and the audit carries the verified identity, not a spoofed header', async () => {
    const id = requestId('jwt-ok');

    const res = await create(
      {
        [HEADER]: await idp.sign(key, claims()),
        'X-Forwarded-Email': 'mallory@example.com',
        'X-Forwarded-Groups': 'platform-admins',
      },
      id,
    );

    expect(res.status).toBe(201);
    expect(await auditEventFor(gateway, id)).toEqual([
      expect.objectContaining({
        actor_email: 'alice@example.com',
        actor_user: 'user-123',
        actor_groups: ['staff'],
        outcome: 'success',
      }),
    ]);
    expect(
      gateway.logLines.some((line) => line.includes('possible spoofing') && line.includes('x-forwarded-email')),
    ).toBe(true);
  });

  test.each<[string, string, () => Promise<Record<string, string | string[]>>]>([
    [
      'alg none',
      'algorithm_not_allowed',
      async () => ({ [HEADER]: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.` }),
    ],
    [
      'HS256 signed with the public key',
      'algorithm_not_allowed',
      async () => {
        const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64(claims())}`;
        const mac = createHmac('sha256', key.publicKey.export({ type: 'spki', format: 'pem' }))
          .update(input)
          .digest('base64url');
        return { [HEADER]: `${input}.${mac}` };
      },
    ],
    [
      'a wrong key under a published kid',
      'bad_signature',
      async () => ({ [HEADER]: await idp.sign({ ...(await idp.newKey('ES256', false)), kid: key.kid }, claims()) }),
    ],
    [
      'an unknown kid',
      'unknown_key',
      async () => ({ [HEADER]: await idp.sign(await idp.newKey('ES256', false), claims()) }),
    ],
    [
      'an expired token',
      'expired',
      async () => ({ [HEADER]: await idp.sign(key, claims({ iat: now() - 900, exp: now() - 600 })) }),
    ],
    [
      'a token not yet valid',
      'not_yet_valid',
      async () => ({ [HEADER]: await idp.sign(key, claims({ nbf: now() + 600 })) }),
    ],
    [
      'a token issued in the future',
      'issued_in_future',
      async () => ({ [HEADER]: await idp.sign(key, claims({ iat: now() + 600, exp: now() + 900 })) }),
    ],
    [
      'a wrong issuer',
      'wrong_issuer',
      async () => ({ [HEADER]: await idp.sign(key, claims({ iss: 'https://evil.example' })) }),
    ],
    [
      'a wrong audience',
      'wrong_audience',
      async () => ({ [HEADER]: await idp.sign(key, claims({ aud: 'other-app.corp.example' })) }),
    ],
    ['no email claim', 'missing_email', async () => ({ [HEADER]: await idp.sign(key, claims({ email: undefined })) })],
    [
      'a look-alike email with the Kelvin sign (\\u212Aate@)',
      'invalid_claims',
      async () => ({ [HEADER]: await idp.sign(key, claims({ email: '\u212Aate@example.com' })) }),
    ],
    [
      'an email the proxy marks unverified',
      'email_not_verified',
      async () => ({ [HEADER]: await idp.sign(key, claims({ email_verified: false })) }),
    ],
    [
      'groups as one comma-separated string',
      'invalid_claims',
      async () => ({ [HEADER]: await idp.sign(key, claims({ groups: 'staff,platform-admins' })) }),
    ],
    [
      'a group name with a comma, to split into two grants',
      'invalid_claims',
      async () => ({ [HEADER]: await idp.sign(key, claims({ groups: ['staff,platform-admins'] })) }),
    ],
    [
      'a group name with a space',
      'invalid_claims',
      async () => ({ [HEADER]: await idp.sign(key, claims({ groups: ['staff platform-admins'] })) }),
    ],
    [
      'a group that is not a string',
      'invalid_claims',
      async () => ({ [HEADER]: await idp.sign(key, claims({ groups: ['staff', 7] })) }),
    ],
    [
      'the token in the wrong header',
      'missing_token',
      async () => ({ 'x-goog-iap-jwt-assertion': await idp.sign(key, claims()) }),
    ],
    [
      'two tokens',
      'multiple_tokens',
      async () => ({ [HEADER]: [await idp.sign(key, claims()), await idp.sign(key, claims())] }),
    ],
    ['a truncated token', 'bad_signature', async () => ({ [HEADER]: (await idp.sign(key, claims())).slice(0, -12) })],
    [
      'a token cut before its signature',
      'malformed_token',
      async () => ({ [HEADER]: (await idp.sign(key, claims())).split('.').slice(0, 2).join('.') }),
    ],
    [
      'a 100 kB header',
      'token_too_large',
      async () => ({ [HEADER]: `${await idp.sign(key, claims())}${'A'.repeat(100 * 1024)}` }),
    ],
    [
      'no token at all, only plain headers',
      'missing_token',
      async () => ({ 'X-Forwarded-Email': 'alice@example.com' }),
    ],
  ])(
    'when the request carries %s, then 401 %s, nothing reaches Vonage and nothing is audited',
    async (_label, reason, headers) => {
      const id = requestId('jwt-forged');
      const before = gateway.vonage.received.length;

      const res = await create(await headers(), id);

      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.reason).toBe(reason);
      expect(gateway.vonage.received).toHaveLength(before);
      expect(await auditEventFor(gateway, id)).toEqual([]);
    },
  );

  test('when the provider rotates to a new kid, then tokens signed with it work without a restart', async () => {
    const rotated = await idp.newKey('ES256');

    const res = await gateway.http
      .get(`/v1/accounts/${SUB_KEY}/secrets`)
      .set(HEADER, await idp.sign(rotated, claims()));

    expect(res.status).toBe(200);
  });

  test('when the JWKS cannot be reached, then no request gets through', async () => {
    idp.setDown(true);
    const cold = await startGateway({ jwt: settingsFor() });
    try {
      const res = await cold.http.get(`/v1/accounts/${SUB_KEY}/secrets`).set(HEADER, await idp.sign(key, claims()));

      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('keys_unavailable');
      expect(cold.vonage.received).toHaveLength(0);
    } finally {
      idp.setDown(false);
      await cold.close();
    }
  });

  test('when a flood of unknown kids arrives, then the JWKS is refetched at most once per cooldown', async () => {
    const throttled = await startGateway({ jwt: settingsFor({ AUTH_JWT_JWKS_COOLDOWN_MS: 60_000 }) });
    try {
      await throttled.http
        .get(`/v1/accounts/${SUB_KEY}/secrets`)
        .set(HEADER, await idp.sign(key, claims()))
        .expect(200);
      const fetchesAfterWarmUp = idp.keyFetches();

      const stranger = await idp.newKey('ES256', false);
      const statuses = [];
      for (let i = 0; i < 10; i += 1)
        statuses.push(
          (await throttled.http.get(`/v1/accounts/${SUB_KEY}/secrets`).set(HEADER, await idp.sign(stranger, claims())))
            .status,
        );

      expect(statuses).toEqual(Array(10).fill(401));
      expect(idp.keyFetches() - fetchesAfterWarmUp).toBeLessThanOrEqual(1);
    } finally {
      await throttled.close();
    }
  });
});
