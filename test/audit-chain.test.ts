import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Kysely, sql } from 'kysely';
import { verifyChain } from '../src/audit/chain.ts';
import { runAuditCli } from '../src/cli/audit.ts';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { createDatabase, type Database } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { expectToMatchContract } from './support/contract.ts';
import { admin, asCaller, type Gateway, MASTER_KEY, reviewer, startGateway, SUB_KEY } from './support/harness.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { captured } from './support/cli.ts';

/** Each block gets its own database, because the tamper tests break the chain on purpose. */

async function gatewayOn(scratch: ScratchDatabase): Promise<Gateway> {
  return startGateway({ databaseUrl: scratch.gatewayUrl });
}

const cli = (args: string[], databaseUrl: string) => captured(runAuditCli, args, { DATABASE_URL: databaseUrl });

describe('GET /v1/audit-events/verify on an untouched log', () => {
  let scratch: ScratchDatabase;
  let gateway: Gateway;
  beforeAll(async () => {
    scratch = await createScratchDatabase('chain_ok');
    gateway = await gatewayOn(scratch);
  });
  afterAll(async () => {
    await gateway.close();
    await scratch.drop();
  });

  test('when 50 creates race, then every attempt is linked once, in one unbroken chain', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        gateway.http
          .post(`/v1/accounts/${i % 2 ? MASTER_KEY : SUB_KEY}/secrets`)
          .set(admin)
          .send({ secret: exampleSecret() }),
      ),
    );
    const { rows } = await sql<{ n: string; distinct_seq: string; max_seq: string }>`
      select count(*) as n, count(distinct chain_seq) as distinct_seq, max(chain_seq) as max_seq
      from (select chain_seq from audit_events union all select chain_seq from audit_outcomes) links`.execute(
      gateway.db,
    );

    const res = await gateway.http.get('/v1/audit-events/verify').set(reviewer);

    expect(results.filter((r) => r.status === 201)).toHaveLength(2); // Vonage allows 2 secrets per account
    expect(rows[0]).toEqual({ n: '100', distinct_seq: '100', max_seq: '100' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'intact',
      records: 100,
      events: 50,
      checked_now: 100,
      head_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      mode: 'full',
      last_full_verify: null,
    });
    expectToMatchContract(res, 'get', '/v1/audit-events/verify');
  });

  test('when a reviewer runs npm run audit -- verify as the auditor role, then it reports intact and exits 0', async () => {
    const { code, output } = await cli(['verify'], scratch.auditorUrl);

    expect(code).toBe(0);
    expect(JSON.parse(output)).toMatchObject({ status: 'intact' });
  });

  test('when the caller lacks audit:read, then 403', async () => {
    const res = await gateway.http.get('/v1/audit-events/verify').set(asCaller('bob@example.com', 'team-payments'));

    expect(res.status).toBe(403);
  });
});

describe('verification after a superuser bypasses the triggers', () => {
  let scratch: ScratchDatabase;
  let gateway: Gateway;
  let superuser: Kysely<Database>;
  beforeAll(async () => {
    scratch = await createScratchDatabase('chain_tamper');
    gateway = await gatewayOn(scratch);
    superuser = createDatabase({ connectionString: scratch.superuserUrl, logger: createLogger('error') });
    for (const secret of [exampleSecret(), 'short', exampleSecret()])
      await gateway.http.post(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).send({ secret });
  });
  afterAll(async () => {
    await Promise.all([gateway.close(), superuser.destroy()]);
    await scratch.drop();
  });

  /** Each tamper runs in a transaction that is rolled back, so the three cases do not see each other. */
  async function tamperedReport(statement: ReturnType<typeof sql>) {
    let report: Awaited<ReturnType<typeof verifyChain>> | undefined;
    await superuser
      .transaction()
      .execute(async (trx) => {
        await sql`alter table audit_events disable trigger all`.execute(trx);
        await sql`alter table audit_outcomes disable trigger all`.execute(trx);
        await statement.execute(trx);
        await sql`alter table audit_events enable trigger all`.execute(trx);
        await sql`alter table audit_outcomes enable trigger all`.execute(trx);
        report = await verifyChain(trx);
        throw new Error('rollback');
      })
      .catch((error: Error) => {
        if (error.message !== 'rollback') throw error;
      });
    return report;
  }

  test.each([
    [
      'changes a past row',
      sql`update audit_events set actor_email = 'someone-else@example.com' where chain_seq = 3`,
      { reason: 'hash_mismatch', at: { table: 'audit_events', seq: '3' } },
    ],
    [
      'deletes a row',
      sql`delete from audit_outcomes where chain_seq = 2`,
      { reason: 'sequence_gap', at: { seq: '3' } },
    ],
    [
      'inserts a row by hand',
      sql`insert into audit_events (request_id, action, actor_email, api_key) overriding system value values ('forged', 'secret.revoke', 'ghost@example.com', 'abcd1234')`,
      { reason: 'unlinked_record', at: { table: 'audit_events' } },
    ],
  ])('when a superuser %s, then verification reports the first broken link', async (_label, statement, expected) => {
    expect(await verifyChain(superuser)).toMatchObject({ status: 'intact' });

    const report = await tamperedReport(statement);

    expect(report).toMatchObject({ status: 'broken', ...expected });
    if (expected.reason === 'hash_mismatch')
      expect(report).toMatchObject({
        expected_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        found_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
  });

  test('when the newest records are removed, then the head no longer matches', async () => {
    const report = await tamperedReport(
      sql`delete from audit_outcomes where chain_seq = (select max(chain_seq) from audit_outcomes)`,
    );

    expect(report).toMatchObject({ status: 'broken', reason: 'head_mismatch' });
  });
});
