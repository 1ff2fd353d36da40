import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import supertest from 'supertest';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { createApp } from '../src/http/app.ts';
import { parsePolicy } from '../src/policy/policy.ts';
import { expectToMatchContract } from './support/contract.ts';
import {
  admin,
  asCaller,
  openGateway,
  type OpenGateway,
  MASTER_KEY,
  reviewer,
  SUB_KEY,
  UNKNOWN_SECRET_ID,
} from './support/harness.ts';

let parts: OpenGateway;
let http: ReturnType<typeof supertest>;
beforeAll(async () => {
  parts = await openGateway({ rateLimits: { readsPerMinute: 100_000, writesPerMinute: 100_000 } });
  http = supertest(createApp(parts.gateway.app));
});
afterAll(async () => {
  await parts.close();
});

describe('GET /v1/me', () => {
  test.each([
    [
      'an admin',
      admin,
      [
        { api_key: MASTER_KEY, actions: ['secrets:read', 'secrets:create', 'secrets:revoke', 'consumers:manage'] },
        { api_key: SUB_KEY, actions: ['secrets:read', 'secrets:create', 'secrets:revoke', 'consumers:manage'] },
      ],
      [],
    ],
    [
      'alice (an email grant)',
      asCaller('alice@example.com'),
      [{ api_key: SUB_KEY, actions: ['secrets:read', 'secrets:create'] }],
      [],
    ],
    ['a reviewer', reviewer, [], ['audit:read']],
    ['a caller with no grants', asCaller('nobody@example.com', 'strangers'), [], []],
  ])(
    'when %s asks, then the answer lists exactly their accounts and actions',
    async (_label, caller, accounts, actions) => {
      const res = await http.get('/v1/me').set(caller);

      expect(res.status).toBe(200);
      expectToMatchContract(res, 'get', '/v1/me');
      expect(res.body).toMatchObject({ email: caller['X-Forwarded-Email']?.toLowerCase(), accounts, actions });
    },
  );

  test('when nobody is identified, then 401', async () => {
    const res = await http.get('/v1/me');

    expect(res.status).toBe(401);
  });
});

describe('a 403', () => {
  test('when a reader tries to revoke, then the problem names the action and account to ask for', async () => {
    const res = await http
      .delete(`/v1/accounts/${SUB_KEY}/secrets/${UNKNOWN_SECRET_ID}`)
      .set(asCaller('r@example.com', 'team-payments'));

    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ action: 'secrets:revoke', api_key: SUB_KEY });
    expect(res.body.detail).toMatch(/Ask for secrets:revoke on sub00001/);
  });
});

describe('GET /openapi.json and /openapi.yaml', () => {
  test('when fetched without identity, then the contract is served, with its security schemes', async () => {
    const json = await http.get('/openapi.json');
    const yaml = await http.get('/openapi.yaml');

    expect(json.status).toBe(200);
    expect(json.body.openapi).toBe('3.1.0');
    expect(Object.keys(json.body.components.securitySchemes)).toEqual(['proxyHeaders', 'bearerJwt', 'deliveryToken']);
    expect(yaml.status).toBe(200);
    expect(yaml.headers['content-type']).toMatch(/^application\/yaml/);
    expect(yaml.text).toMatch(/^openapi: 3\.1\.0/);
  });
});

/** Random policies and callers: /v1/me lists an action exactly when the real request is not refused with 403. */
const KEYS = [MASTER_KEY, SUB_KEY];
const GROUPS = ['g1', 'g2', 'g3'];
const EMAILS = ['alice@example.com', 'bob@example.com'];
const grant = fc.record({
  who: fc.oneof(
    fc.constantFrom(...GROUPS).map((group) => ({ group })),
    fc.constantFrom(...EMAILS).map((email) => ({ email })),
  ),
  accounts: fc.oneof(fc.constant(['*']), fc.subarray(KEYS, { minLength: 1 })),
  actions: fc.subarray(['secrets:read', 'secrets:create', 'secrets:revoke', 'consumers:manage', 'audit:read'], {
    minLength: 1,
  }),
});
const policyArb = fc
  .record({ accounts: fc.subarray(KEYS, { minLength: 1 }), grants: fc.array(grant, { maxLength: 4 }) })
  .map((p) =>
    JSON.stringify({
      accounts: p.accounts,
      grants: p.grants
        .map((g) => ({
          ...g.who,
          accounts: (g.accounts as string[]).filter((a) => a === '*' || p.accounts.includes(a)),
          actions: g.actions,
        }))
        .filter((g) => g.accounts.length > 0),
    }),
  );
const callerArb = fc.record({ email: fc.constantFrom(...EMAILS, 'carol@example.com'), groups: fc.subarray(GROUPS) });

function realRequest(app: ReturnType<typeof supertest>, action: string, apiKey: string) {
  if (action === 'secrets:read') return app.get(`/v1/accounts/${apiKey}/secrets`);
  if (action === 'secrets:create') return app.post(`/v1/accounts/${apiKey}/secrets`).send({ secret: exampleSecret() });
  if (action === 'secrets:revoke') return app.delete(`/v1/accounts/${apiKey}/secrets/${UNKNOWN_SECRET_ID}`);
  if (action === 'consumers:manage') return app.delete(`/v1/accounts/${apiKey}/consumers/nobody/token`);
  return app.get('/v1/audit-events?limit=1');
}

describe('GET /v1/me against the real requests', () => {
  test('when policies and callers are random, then /v1/me grants an action exactly when the request is not 403', async () => {
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(policyArb, callerArb, async (policyText, caller) => {
        const policy = parsePolicy(policyText, 'generated');
        const app = supertest(createApp({ ...parts.gateway.app, policy }));
        const headers = asCaller(caller.email, caller.groups.length ? caller.groups.join(',') : undefined);
        const me = (await app.get('/v1/me').set(headers)).body as {
          accounts: Array<{ api_key: string; actions: string[] }>;
          actions: string[];
        };
        for (const { apiKey } of policy.accounts.list()) {
          for (const action of ['secrets:read', 'secrets:create', 'secrets:revoke', 'consumers:manage']) {
            const listed = me.accounts.find((a) => a.api_key === apiKey)?.actions.includes(action) ?? false;
            expect((await realRequest(app, action, apiKey).set(headers)).status !== 403).toBe(listed);
            checked += 1;
          }
        }
        expect((await realRequest(app, 'audit:read', '').set(headers)).status !== 403).toBe(
          me.actions.includes('audit:read'),
        );
        checked += 1;
      }),
      { numRuns: 40 },
    );
    expect(checked).toBeGreaterThan(80);
  }, 120_000);
});
