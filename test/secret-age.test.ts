import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import supertest from 'supertest';
import { createApp } from '../src/http/app.ts';
import { expectToMatchContract } from './support/contract.ts';
import { admin, openGateway, type OpenGateway, reviewer } from './support/harness.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';

/** Secret age and stale rotations: the report reviewers read, and the metrics security alerts on. */
const OLD = 'ages0001';
const FRESH = 'ages0002';
const REPORT = '/v1/reports/secret-age';
let parts: OpenGateway;
let http: ReturnType<typeof supertest>;
let staleId: string;
let scratch: ScratchDatabase;
beforeAll(async () => {
  // Its own database: the refresh's advisory lock is per database, and other suites run real servers.
  scratch = await createScratchDatabase('secret_age');
  parts = await openGateway({
    subAccounts: [OLD, FRESH],
    databaseUrl: scratch.gatewayUrl,
    rotationStaleAfterHours: 72,
  });
  http = supertest(createServer(createApp(parts.gateway.app)));
  const [oldSecret] = parts.vonage.secretsOf(OLD);
  parts.vonage.backdate(
    OLD,
    oldSecret?.id ?? '',
    new Date(Date.now() - 120 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z'),
  );
  staleId = crypto.randomUUID();
  await parts.gateway.app.db
    .insertInto('rotations')
    .values({
      id: staleId,
      api_key: OLD,
      state: 'awaiting_cutover',
      retire_secret_id: oldSecret?.id ?? '',
      started_by: 'ops@example.com',
    })
    .execute();
  await sql`update rotations set updated_at = now() - interval '100 hours' where id = ${staleId}`.execute(
    parts.gateway.app.db,
  );
  await parts.gateway.refreshEstate();
});
afterAll(async () => {
  await parts.close();
  await scratch.drop();
});

describe('GET /v1/reports/secret-age', () => {
  test('when a reviewer asks, then every managed account is listed with ages, overdue flags and stale rotations', async () => {
    const listsBefore = parts.vonage.received.length;
    const res = await http.get(REPORT).set(reviewer);

    expect(res.status).toBe(200);
    expectToMatchContract(res, 'get', REPORT);
    expect(parts.vonage.received.length).toBe(listsBefore); // from the estate snapshot, not Vonage
    expect(res.body.accounts[0].api_key).toBe(OLD); // overdue first
    expect(res.body.as_of).toEqual(expect.any(String));
    const old = res.body.accounts.find((a: { api_key: string }) => a.api_key === OLD);
    const fresh = res.body.accounts.find((a: { api_key: string }) => a.api_key === FRESH);
    expect(old).toMatchObject({
      oldest_age_days: 120,
      secrets: [expect.objectContaining({ age_days: 120, overdue: true })],
    });
    expect(old.stale_rotations).toEqual([
      expect.objectContaining({ id: staleId, started_by: 'ops@example.com', awaiting_hours: 100 }),
    ]);
    expect(fresh).toMatchObject({
      oldest_age_days: 0,
      secrets: [expect.objectContaining({ overdue: false })],
      stale_rotations: [],
    });
  });

  test('when asked as CSV, then a file with one row per secret and per stale rotation downloads', async () => {
    const res = await http.get(`${REPORT}?format=csv`).set(reviewer);

    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="?secret-age\.csv"?$/);
    expect(res.text).toMatch(new RegExp(`\\r\\nsecret,${OLD},[0-9a-f-]+,[^,]+,120,true,${OLD}\\r\\n`));
    expect(res.text).toContain(`stale_rotation,${OLD},${staleId},`);
  });

  test('when an engineer without audit:read asks, then 403', async () => {
    expect((await http.get(REPORT).set(admin)).status).toBe(403);
  });
});

describe('the secret-age metrics', () => {
  test('when the estate is refreshed, then the oldest age and the rotations awaiting cutover are exported per account', async () => {
    expect(await parts.gateway.refreshEstate()).toMatchObject({ outcome: 'refreshed' });

    const text = await parts.gateway.app.metrics.registry.metrics();
    expect(text).toContain(`vonage_secret_oldest_age_seconds{api_key="${OLD}"} ${120 * 86_400}`);
    expect(text).toContain(`vonage_rotations_awaiting_cutover{api_key="${OLD}"} 1`);
    expect(text).toContain(`vonage_rotations_awaiting_cutover{api_key="${FRESH}"} 0`);
  });

  test('when two replicas refresh at once, then only one asks Vonage: the account list once, then each account', async () => {
    const callsBefore = parts.vonage.received.length;
    parts.vonage.setFault({ kind: 'slow', delayMs: 200 });
    try {
      const results = await Promise.all([parts.gateway.refreshEstate(), parts.gateway.refreshEstate()]);

      expect(results.map((r) => r.outcome).sort()).toEqual(['refreshed', 'skipped']);
      const managed = parts.gateway.app.policy.accounts.list().length;
      expect(parts.vonage.received.length - callsBefore).toBe(1 + managed);
    } finally {
      parts.vonage.setFault(null);
    }
  });
});
