import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type JwtEnv, resolveJwtSettings } from '../src/identity/jwt-settings.ts';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { auditEventFor, requestId, startGateway, SUB_KEY } from './support/harness.ts';
import { albToken, type Idp, startIdp } from './support/idp.ts';

/**
 * Each preset with its proxy's real token shape (as each proxy documents it), verified
 * against keys published by a local IdP. Only the key location is overridden where a preset's is fixed.
 */

let idp: Idp;
beforeAll(async () => {
  idp = await startIdp();
});
afterAll(async () => {
  await idp.close();
});

const now = () => Math.floor(Date.now() / 1000);
const ALB_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/gateway/50dc6c495c0c9188';

interface PresetCase {
  env: () => JwtEnv;
  header: string;
  token: () => Promise<string>;
  email: string;
  groups: string[];
}

const cases: Record<string, PresetCase> = {
  'google-iap': {
    env: () => ({
      AUTH_JWT_PRESET: 'google-iap',
      AUTH_JWT_AUDIENCE: '/projects/123456/global/backendServices/987654',
      AUTH_JWT_JWKS_URL: `${idp.url}/jwks`,
    }),
    header: 'x-goog-iap-jwt-assertion',
    token: async () =>
      idp.sign(await idp.newKey('ES256'), {
        iss: 'https://cloud.google.com/iap',
        aud: '/projects/123456/global/backendServices/987654',
        sub: 'accounts.google.com:1234567890',
        email: 'alice@example.com',
        hd: 'example.com',
        iat: now() - 5,
        exp: now() + 600,
      }),
    email: 'alice@example.com',
    groups: [],
  },
  'cloudflare-access': {
    env: () => ({
      AUTH_JWT_PRESET: 'cloudflare-access',
      AUTH_JWT_ISSUER: idp.url,
      AUTH_JWT_AUDIENCE: '4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2',
    }),
    header: 'Cf-Access-Jwt-Assertion',
    token: async () =>
      idp.sign(await idp.newKey('RS256'), {
        aud: ['4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2'],
        email: 'alice@example.com',
        exp: now() + 600,
        iat: now() - 5,
        nbf: now() - 5,
        iss: idp.url,
        type: 'app',
        identity_nonce: '6ei69kawdKzMIAPF',
        sub: '7335d417-61da-459d-899c-0a01c76a2f94',
        country: 'GB',
      }),
    email: 'alice@example.com',
    groups: [],
  },
  'aws-alb': {
    env: () => ({
      AUTH_JWT_PRESET: 'aws-alb',
      AUTH_JWT_ALB_ARN: ALB_ARN,
      AUTH_JWT_AUDIENCE: '7f0d1f6c2oqpd8ml',
      AUTH_JWT_PEM_URL_TEMPLATE: `${idp.url}/pem/{kid}`,
      AUTH_JWT_ISSUER: 'https://idp.example.com',
    }),
    header: 'x-amzn-oidc-data',
    token: async () => {
      const token = albToken(
        await idp.newKey('ES256'),
        { typ: 'JWT', signer: ALB_ARN, iss: 'https://idp.example.com', client: '7f0d1f6c2oqpd8ml', exp: now() + 120 },
        {
          sub: '9f7d4c2e',
          email: 'alice@example.com',
          username: 'alice',
          exp: now() + 120,
          iss: 'https://idp.example.com',
        },
      );
      expect(token).toMatch(/=/); // the real quirk: padding kept, which standard JWT libraries reject
      return token;
    },
    email: 'alice@example.com',
    groups: [],
  },
  pomerium: {
    env: () => ({ AUTH_JWT_PRESET: 'pomerium', AUTH_JWT_ISSUER: idp.url, AUTH_JWT_AUDIENCE: 'gateway.corp.example' }),
    header: 'X-Pomerium-Jwt-Assertion',
    token: async () =>
      idp.sign(await idp.newKey('ES256'), {
        iss: idp.url,
        aud: 'gateway.corp.example',
        sub: 'alice-id',
        email: 'alice@example.com',
        groups: ['team-payments', 'staff'],
        name: 'Alice',
        iat: now() - 5,
        exp: now() + 300,
      }),
    email: 'alice@example.com',
    groups: ['team-payments', 'staff'],
  },
  'oidc-bearer': {
    env: () => ({ AUTH_JWT_PRESET: 'oidc-bearer', AUTH_JWT_ISSUER: idp.url, AUTH_JWT_AUDIENCE: 'gateway-client' }),
    header: 'Authorization',
    token: async () =>
      `Bearer ${await idp.sign(await idp.newKey('RS256'), {
        iss: idp.url,
        aud: 'gateway-client',
        sub: 'alice-id',
        email: 'alice@example.com',
        email_verified: true,
        preferred_username: 'alice',
        groups: ['team-payments'],
        iat: now() - 5,
        exp: now() + 300,
      })}`,
    email: 'alice@example.com',
    groups: ['team-payments'],
  },
};

describe('AUTH_JWT_PRESET: POST /v1/accounts/:apiKey/secrets', () => {
  test.each(Object.keys(cases))(
    'when %s sends its real token shape, then the create is served and audited under the verified identity',
    async (preset) => {
      const spec = cases[preset] as PresetCase;
      const { settings, problems } = resolveJwtSettings({ AUTH_JWT_JWKS_COOLDOWN_MS: 0, ...spec.env() });
      expect(problems).toEqual([]);
      const gateway = await startGateway({ jwt: settings });
      try {
        const id = requestId(`preset-${preset}`);

        const res = await gateway.http
          .post(`/v1/accounts/${SUB_KEY}/secrets`)
          .set(spec.header, await spec.token())
          .set('X-Request-Id', id)
          .send({ secret: exampleSecret() });

        expect(res.status).toBe(201);
        expect(await auditEventFor(gateway, id)).toEqual([
          expect.objectContaining({ actor_email: spec.email, actor_groups: spec.groups, outcome: 'success' }),
        ]);
      } finally {
        await gateway.close();
      }
    },
  );

  test.each(['bearer', 'BEARER', 'Bearer'])(
    'when the Authorization scheme is written %s, then it is the Bearer scheme (case-insensitive)',
    async (scheme) => {
      const spec = cases['oidc-bearer'] as PresetCase;
      const { settings } = resolveJwtSettings({ AUTH_JWT_JWKS_COOLDOWN_MS: 0, ...spec.env() });
      const gateway = await startGateway({ jwt: settings });
      try {
        const token = (await spec.token()).replace(/^Bearer /, `${scheme} `);

        const res = await gateway.http.get('/v1/me').set('Authorization', token);

        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ email: spec.email });
      } finally {
        await gateway.close();
      }
    },
  );

  test('when an ALB token comes from another load balancer, then 401 wrong_signer', async () => {
    const { settings } = resolveJwtSettings((cases['aws-alb'] as PresetCase).env());
    const gateway = await startGateway({ jwt: settings });
    try {
      const token = albToken(
        await idp.newKey('ES256'),
        { signer: `${ALB_ARN}x`, client: '7f0d1f6c2oqpd8ml', iss: 'https://idp.example.com' },
        { email: 'alice@example.com', exp: now() + 60 },
      );

      const res = await gateway.http.get(`/v1/accounts/${SUB_KEY}/secrets`).set('x-amzn-oidc-data', token);

      expect(res.status).toBe(401);
      expect(res.body.reason).toBe('wrong_signer');
    } finally {
      await gateway.close();
    }
  });
});
