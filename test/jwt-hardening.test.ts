import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { JWTPayload } from 'jose';
import { type JwtEnv, resolveJwtSettings } from '../src/identity/jwt-settings.ts';
import { startGateway, SUB_KEY } from './support/harness.ts';
import { albToken, type Idp, startIdp } from './support/idp.ts';

/** Attacks on the jwt presets that the shared forged-token table (Pomerium-shaped) cannot express. */

let idp: Idp;
beforeAll(async () => {
  idp = await startIdp();
});
afterAll(async () => {
  await idp.close();
});

const now = () => Math.floor(Date.now() / 1000);
const ALB_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/gateway/50dc6c495c0c9188';
const settingsOf = (env: JwtEnv) => {
  const { settings, problems } = resolveJwtSettings(env);
  if (!settings) throw new Error(problems.join('; '));
  return settings;
};
const oidc = (extra: Partial<JwtEnv> = {}) =>
  settingsOf({
    AUTH_JWT_PRESET: 'oidc-bearer',
    AUTH_JWT_ISSUER: idp.url,
    AUTH_JWT_AUDIENCE: 'gateway-client',
    ...extra,
  });
const oidcClaims = (extra: JWTPayload): JWTPayload => ({
  iss: idp.url,
  aud: 'gateway-client',
  sub: 'alice-id',
  email: 'alice@example.com',
  groups: ['team-payments'],
  iat: now() - 5,
  exp: now() + 300,
  ...extra,
});

describe('AUTH_JWT_PRESET=oidc-bearer: GET /v1/accounts/:apiKey/secrets', () => {
  test.each([
    ['email_verified is absent', {}, 401],
    ['email_verified is false', { email_verified: false }, 401],
    ['email_verified is the string "true"', { email_verified: 'true' }, 401],
    ['email_verified is true', { email_verified: true }, 200],
  ] as const)('when %s, then %s', async (_label, extra, status) => {
    const gateway = await startGateway({ jwt: oidc() });
    try {
      const token = await idp.sign(await idp.newKey('RS256'), oidcClaims(extra));

      const res = await gateway.http.get(`/v1/accounts/${SUB_KEY}/secrets`).set('Authorization', `Bearer ${token}`);

      expect(res.status).toBe(status);
      if (status === 401) expect(res.body.reason).toBe('email_not_verified');
      expect(gateway.vonage.received).toHaveLength(status === 200 ? 1 : 0);
    } finally {
      await gateway.close();
    }
  });

  test('when AUTH_JWT_REQUIRE_EMAIL_VERIFIED=false and the IdP omits the claim, then the caller is served', async () => {
    const gateway = await startGateway({ jwt: oidc({ AUTH_JWT_REQUIRE_EMAIL_VERIFIED: false }) });
    try {
      const token = await idp.sign(await idp.newKey('RS256'), oidcClaims({}));

      const res = await gateway.http.get(`/v1/accounts/${SUB_KEY}/secrets`).set('Authorization', `Bearer ${token}`);

      expect(res.status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});

/** The aws-alb preset against the test IdP's key server, one fetch per minute for unknown kids. */
const albGateway = () =>
  startGateway({
    jwt: settingsOf({
      AUTH_JWT_PRESET: 'aws-alb',
      AUTH_JWT_ALB_ARN: ALB_ARN,
      AUTH_JWT_AUDIENCE: 'client-1',
      AUTH_JWT_PEM_URL_TEMPLATE: `${idp.url}/pem/{kid}`,
      AUTH_JWT_JWKS_COOLDOWN_MS: 60_000,
    }),
  });

describe('AUTH_JWT_PRESET=aws-alb: a flood of random kids', () => {
  test('when 200 tokens name 200 random kids, then the key server is asked at most once per cooldown', async () => {
    const gateway = await albGateway();
    try {
      const signer = await idp.newKey('ES256', false);
      const before = idp.pemRequests();
      const statuses = new Set<number>();
      for (let i = 0; i < 200; i += 1) {
        const token = albToken(
          { ...signer, kid: `random-${i}-${Math.random().toString(36).slice(2)}` },
          { signer: ALB_ARN, client: 'client-1' },
          { email: 'mallory@example.com', exp: now() + 60 },
        );
        statuses.add((await gateway.http.get(`/v1/accounts/${SUB_KEY}/secrets`).set('x-amzn-oidc-data', token)).status);
      }

      expect([...statuses]).toEqual([401]);
      expect(idp.pemRequests() - before).toBeLessThanOrEqual(1);
      expect(gateway.vonage.received).toHaveLength(0);
    } finally {
      await gateway.close();
    }
  });

  test('when a newly published key signs real traffic during the flood, then it is fetched at its second request and served', async () => {
    const gateway = await albGateway();
    try {
      const attacker = await idp.newKey('ES256', false);
      const genuine = await idp.newKey('ES256'); // published at the key server
      const before = idp.pemRequests();
      const send = (key: typeof genuine, email: string) =>
        gateway.http
          .get(`/v1/accounts/${SUB_KEY}/secrets`)
          .set('x-amzn-oidc-data', albToken(key, { signer: ALB_ARN, client: 'client-1' }, { email, exp: now() + 60 }));
      const genuineStatuses: number[] = [];
      for (let i = 0; i < 200; i += 1) {
        const random = { ...attacker, kid: `random-${i}-${Math.random().toString(36).slice(2)}` };
        expect((await send(random, 'mallory@example.com')).status).toBe(401);
        if (i % 20 === 10) genuineStatuses.push((await send(genuine, 'admin@example.com')).status);
      }

      expect(genuineStatuses.slice(0, 2)).toEqual([401, 403]); // 403: verified, and this admin lacks the group
      expect(new Set(genuineStatuses.slice(1))).toEqual(new Set([403]));
      expect(idp.pemRequests() - before).toBeLessThanOrEqual(2);
    } finally {
      await gateway.close();
    }
  });
});
