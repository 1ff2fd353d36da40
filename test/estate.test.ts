import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type supertest from 'supertest';
import fc from 'fast-check';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { expectToMatchContract } from './support/contract.ts';
import {
  admin,
  asCaller,
  auditEventFor,
  type Gateway,
  MASTER_KEY,
  openGateway,
  requestId,
  startGateway,
} from './support/harness.ts';
import { eventually } from './support/eventually.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';

/** The estate: accounts discovered from Vonage, named, and served a page at a time from the snapshot. */
const PAGE = '/v1/accounts';
const DAY_MS = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z');
const ESTATE = [
  { apiKey: 'pay00001', name: 'payments-eu' },
  { apiKey: 'pay00002', name: 'payments-us', secretCreatedAt: daysAgo(200) },
  { apiKey: 'ops00001', name: 'ops-tools', secretCreatedAt: daysAgo(30) },
  { apiKey: 'crm00001', name: 'legacy-crm', suspended: true },
  { apiKey: 'keep0001', name: 'do-not-touch' },
];
const POLICY = `
exclude: [{name: "do-not-*"}]
grants:
  - group: platform-admins
    accounts: ["*"]
    actions: [secrets:read, secrets:create, secrets:revoke, consumers:manage]
  - group: team-payments
    accounts: [{name: "payments-*"}]
    actions: [secrets:read, secrets:create]
  - group: security-reviewers
    actions: [audit:read]
`;
const payments = asCaller('pay@example.com', 'team-payments');
type Item = { api_key: string; name: string | null; suspended: boolean; secrets: { count: number } | null };

let scratch: ScratchDatabase;
let gateway: Gateway;
const refresh = () => gateway.refreshEstate();
beforeAll(async () => {
  // Its own database: discovery rewrites the estate, which every gateway on a database reads.
  scratch = await createScratchDatabase('estate');
  gateway = await startGateway({ databaseUrl: scratch.gatewayUrl, subAccounts: ESTATE, policy: POLICY });
  await refresh();
});
afterAll(async () => {
  await gateway.close();
  await scratch.drop();
});

const page = async (query = '', caller = admin, target = gateway) => {
  const res = await target.http.get(`${PAGE}${query}`).set(caller);
  expect(res.status).toBe(200);
  return res.body as { accounts: Item[]; next_cursor: string | null; as_of: string | null };
};
const keysOf = (body: { accounts: Item[] }) => body.accounts.map((a) => a.api_key);

describe('account discovery', () => {
  test('when Vonage lists the subaccounts, then each is managed under its name and an excluded one is not', async () => {
    const body = await page();

    expect(body.accounts.map((a) => [a.api_key, a.name])).toEqual([
      ['crm00001', 'legacy-crm'],
      ['ops00001', 'ops-tools'],
      ['pay00001', 'payments-eu'],
      ['pay00002', 'payments-us'],
      [MASTER_KEY, 'Primary account'],
      ['sub00001', 'sub00001'],
    ]);
    expect(body.as_of).toEqual(expect.any(String));
    expect((await gateway.http.get('/v1/me').set(admin)).body.discovery).toBe('vonage');
    expect((await gateway.http.get('/v1/accounts/keep0001/secrets').set(admin)).status).toBe(404);
  });

  test('when a subaccount is added, renamed, suspended and another removed at Vonage, then the next refresh shows it', async () => {
    gateway.vonage.putSubAccount({ apiKey: 'new00001', name: 'payments-apac' });
    gateway.vonage.putSubAccount({ apiKey: 'ops00001', name: 'payments-ops', suspended: true });
    gateway.vonage.removeSubAccount('sub00001');
    try {
      await refresh();

      const body = await page('?q=payments', payments);
      expect(body.accounts.map((a) => [a.api_key, a.name, a.suspended])).toEqual([
        ['new00001', 'payments-apac', false],
        ['pay00001', 'payments-eu', false],
        ['ops00001', 'payments-ops', true],
        ['pay00002', 'payments-us', false],
      ]);
      expect(keysOf(await page())).not.toContain('sub00001');
      expect((await gateway.http.get('/v1/accounts/sub00001/secrets').set(admin)).status).toBe(404);
    } finally {
      gateway.vonage.removeSubAccount('new00001');
      gateway.vonage.putSubAccount({ apiKey: 'ops00001', name: 'ops-tools', suspended: false });
      gateway.vonage.putSubAccount({ apiKey: 'sub00001', name: 'sub00001' });
      await refresh();
    }
  });
});

describe('grants by name', () => {
  test('when a grant names accounts by a glob on their Vonage name, then exactly those are visible and allowed', async () => {
    const body = await page('', payments);

    expect(keysOf(body)).toEqual(['pay00001', 'pay00002']);
    expect(body.accounts[0]).toMatchObject({ actions: ['secrets:read', 'secrets:create'] });
    expect((await gateway.http.get('/v1/accounts/ops00001/secrets').set(payments)).status).toBe(403);
    expect((await gateway.http.get('/v1/accounts/pay00001/secrets').set(payments)).status).toBe(200);
  });
});

describe('GET /v1/accounts', () => {
  test('when paged two at a time, then every account comes once, in name order, and the last page has no cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = '';
    let pages = 0;
    while (cursor !== null) {
      const res: supertest.Response = await gateway.http
        .get(`${PAGE}?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(admin);
      expectToMatchContract(res, 'get', PAGE);
      seen.push(...keysOf(res.body));
      cursor = res.body.next_cursor;
      pages += 1;
    }

    expect(pages).toBe(3);
    expect(seen).toEqual(keysOf(await page()));
  });

  test.each([
    ['a name fragment', '?q=PAYMENTS', ['pay00001', 'pay00002']],
    ['an api key fragment', '?q=ops0', ['ops00001']],
    ['a LIKE wildcard, taken literally', '?q=%25', []],
    ['overdue only', '?overdue=true', ['pay00002']],
    ['suspended only', '?suspended=true', ['crm00001']],
    ['the oldest secret first', '?sort=oldest_secret&limit=2', ['pay00002', 'ops00001']],
  ])('when filtered by %s, then only those accounts come back', async (_label, query, keys) => {
    expect(keysOf(await page(query))).toEqual(keys);
  });

  test('when a page is served, then Vonage is not called and it counts as one read however many accounts it holds', async () => {
    const before = gateway.vonage.received.length;
    const remaining = async () =>
      Number(/"reads"; r=(\d+)/.exec((await gateway.http.get(PAGE).set(admin)).headers.ratelimit ?? '')?.[1]);

    const first = await remaining();
    const second = await remaining();

    expect(first - second).toBe(1);
    expect(gateway.vonage.received.length).toBe(before);
  });

  test.each([
    ['a cursor it never gave', '?cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ['a cursor of another sort', 'sort-mismatch', 'cursor'],
    ['a limit above 200', '?limit=201', 'limit'],
    ['an unknown parameter', '?owner=me', 'owner'],
  ])('when asked with %s, then 400 problem+json names it', async (_label, query, param) => {
    const first = await page('?limit=1');
    const path = query === 'sort-mismatch' ? `${PAGE}?sort=oldest_secret&cursor=${first.next_cursor}` : PAGE + query;

    const res = await gateway.http.get(path).set(admin);

    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.stringify(res.body.invalid_params)).toContain(param);
  });

  test('when any limit, sort and filter page through, then each matching account comes exactly once, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom('name', 'oldest_secret'),
        fc.constantFrom('', '&suspended=false', '&q=pay', '&overdue=false'),
        async (limit, sort, filter) => {
          const whole = keysOf(await page(`?sort=${sort}${filter}`));
          const seen: string[] = [];
          let cursor: string | null = '';
          while (cursor !== null) {
            const body = await page(`?sort=${sort}${filter}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
            seen.push(...keysOf(body));
            cursor = body.next_cursor;
          }
          expect(seen).toEqual(whole);
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('the snapshot after a caller’s own change', () => {
  test('when a secret is created and then revoked, then the next page shows each change without a refresh', async () => {
    const count = async () => (await page('?q=pay00001')).accounts[0]?.secrets?.count;
    const created = await gateway.http
      .post('/v1/accounts/pay00001/secrets')
      .set(admin)
      .send({ secret: exampleSecret() });
    expect(created.status).toBe(201);
    expect(await count()).toBe(2);

    const revoked = await gateway.http.delete(`/v1/accounts/pay00001/secrets/${created.body.id}`).set(admin);
    expect(revoked.status).toBe(204);
    expect(await count()).toBe(1);
  });

  test('when a list equals the last one recorded, then nothing is written; when a date changed, then it is', async () => {
    const recorded = async () => ({
      listedAt: (
        await gateway.db
          .selectFrom('estate_accounts')
          .select('secrets_listed_at')
          .where('api_key', '=', 'ops00001')
          .executeTakeFirstOrThrow()
      ).secrets_listed_at,
      created: (
        await gateway.db.selectFrom('estate_secrets').select('created_at').where('api_key', '=', 'ops00001').execute()
      ).map((row) => row.created_at.toISOString().replace(/\.\d+Z$/, 'Z')),
    });
    const list = async () =>
      expect((await gateway.http.get('/v1/accounts/ops00001/secrets').set(admin)).status).toBe(200);
    await list();
    const first = await recorded();

    await list();
    const unchanged = await recorded();
    const [secret] = gateway.vonage.secretsOf('ops00001');
    gateway.vonage.backdate('ops00001', secret?.id ?? '', daysAgo(31));
    await list();

    expect(first.listedAt).not.toBeNull();
    expect(unchanged).toEqual(first);
    expect((await recorded()).created).toEqual([gateway.vonage.secretsOf('ops00001')[0]?.created_at]);
    expect(first.created).not.toEqual((await recorded()).created);
  });

  test('when an account is opened, then what Vonage says now replaces the snapshot', async () => {
    const [secret] = gateway.vonage.secretsOf('sub00001');
    gateway.vonage.backdate('sub00001', secret?.id ?? '', daysAgo(400));

    expect((await gateway.http.get('/v1/accounts/sub00001/secrets').set(admin)).status).toBe(200);

    expect(keysOf(await page('?overdue=true'))).toEqual(['pay00002', 'sub00001']);
  });
});

describe('suspended accounts', () => {
  test.each([
    ['a create', 'secret.create', '/v1/accounts/crm00001/secrets', () => ({ secret: exampleSecret() })],
    [
      'a rotation',
      'rotation.start',
      '/v1/accounts/crm00001/rotations',
      () => ({ retire_secret_id: gateway.vonage.secretsOf('crm00001')[0]?.id }),
    ],
  ])(
    'when %s is asked on a suspended account, then 409 says why, it is audited, and Vonage hears nothing',
    async (_label, action, path, body) => {
      const id = requestId('suspended');
      const before = gateway.vonage.received.length;

      const res = await gateway.http.post(path).set(admin).set('X-Request-Id', id).send(body());

      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        title: 'Refused by the gateway: account suspended',
        type: 'urn:vonage-gateway:problem:account-suspended',
        detail: expect.stringContaining('suspended at Vonage'),
      });
      expect(gateway.vonage.received.length).toBe(before);
      expect(await auditEventFor(gateway, id)).toEqual([
        expect.objectContaining({ action, api_key: 'crm00001', outcome: 'conflict', status: 409 }),
      ]);
    },
  );
});

describe('a delivery to a suspended account', () => {
  test('when ESO asks for a delivery on a suspended account, then 409 says why, it is audited, and Vonage hears nothing', async () => {
    const registered = await gateway.http
      .post('/v1/accounts/crm00001/consumers')
      .set(admin)
      .send({ name: `crm-${process.pid}` });
    const before = gateway.vonage.received.length;

    const res = await gateway.http.post('/v1/deliveries').set('Authorization', `Bearer ${registered.body.token}`);

    expect(registered.status).toBe(201);
    expect(res.status).toBe(409);
    expect(res.body.title).toBe('Refused by the gateway: account suspended');
    expect(gateway.vonage.received.length).toBe(before);
    const rows = await gateway.db
      .selectFrom('audit_events as e')
      .innerJoin('audit_outcomes as o', 'o.event_id', 'e.id')
      .select(['e.action', 'o.outcome'])
      .where('e.actor_email', '=', `consumer:crm-${process.pid}`)
      .execute();
    expect(rows).toEqual([{ action: 'delivery.generate', outcome: 'conflict' }]);
  });
});

describe('the Subaccounts API not provisioned', () => {
  const STATIC_POLICY = `
accounts: [abcd1234, pay00001]
grants:
  - group: platform-admins
    accounts: ["*"]
    actions: [secrets:read]
`;
  let own: ScratchDatabase;
  let fallback: Gateway;
  beforeAll(async () => {
    own = await createScratchDatabase('estate_static');
    fallback = await startGateway({ databaseUrl: own.gatewayUrl, subAccounts: ESTATE, policy: STATIC_POLICY });
  });
  afterAll(async () => {
    await fallback.close();
    await own.drop();
  });

  test.each([401, 403, 404] as const)(
    'when it answers %i, then the policy’s accounts are managed, and /v1/me and a metric say static',
    async (status) => {
      fallback.vonage.setSubaccountsRefusal(status);
      try {
        const pass = (await fallback.refreshEstate()) as { staticBecause: string | null };

        expect(pass.staticBecause).toContain(`answered ${status}`);
        expect(keysOf(await page('', admin, fallback)).sort()).toEqual([MASTER_KEY, 'pay00001']);
        expect((await fallback.http.get('/v1/me').set(admin)).body.discovery).toBe('static');
        const metrics = await fallback.metrics.registry.metrics();
        expect(metrics).toContain('gateway_account_discovery_source{source="static"} 1');
        expect(metrics).toContain('gateway_account_discovery_source{source="vonage"} 0');
      } finally {
        fallback.vonage.setSubaccountsRefusal(null);
      }
      await fallback.refreshEstate();
      expect((await fallback.http.get('/v1/me').set(admin)).body.discovery).toBe('vonage');
      // Discovered, the allow-list still bounds what is managed.
      expect(keysOf(await page('', admin, fallback)).sort()).toEqual([MASTER_KEY, 'pay00001']);
    },
  );
});

describe('the estate job', () => {
  test('when the Subaccounts API refuses at start, then the service starts, serves, and logs one clear line', async () => {
    const own = await createScratchDatabase('estate_job');
    const opened = await openGateway({ databaseUrl: own.gatewayUrl, policy: POLICY });
    opened.vonage.setSubaccountsRefusal(403);
    try {
      opened.gateway.startJobs();

      await eventually(() => opened.logLines.some((line) => line.includes('account discovery:')), {
        what: 'the discovery line',
      });
      const lines = opened.logLines.filter((line) => line.includes('account discovery:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('the Subaccounts API answered 403: it is not provisioned for this Vonage account');
      expect(opened.gateway.app.policy.accounts.list().map((a) => a.apiKey)).toEqual([MASTER_KEY]);
    } finally {
      await opened.close();
      await own.drop();
    }
  });
});
