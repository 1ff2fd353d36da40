import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Kysely, sql } from 'kysely';
import { createDatabase, type Database } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { auditorDatabaseUrl, testDatabaseUrl } from './support/harness.ts';

/** db/roles.sql plus the grants migration: the runtime role can add and read audit records, nothing more. */
let gateway: Kysely<Database>;
let auditor: Kysely<Database>;
beforeAll(() => {
  gateway = createDatabase({ connectionString: testDatabaseUrl(), logger: createLogger('error') });
  auditor = createDatabase({ connectionString: auditorDatabaseUrl(), logger: createLogger('error') });
});
afterAll(async () => {
  await Promise.all([gateway.destroy(), auditor.destroy()]);
});

describe('the gateway role (the service at run time)', () => {
  test.each([
    ['alter the audit table', sql`alter table audit_events add column note text`, /must be owner/],
    ['drop the audit table', sql`drop table audit_outcomes`, /must be owner/],
    [
      'disable the append-only trigger',
      sql`alter table audit_events disable trigger audit_events_refuse_update_delete`,
      /must be owner/,
    ],
    ['disable every trigger', sql`alter table audit_events disable trigger all`, /must be owner|permission denied/],
    ['create a table', sql`create table scratch (id int)`, /permission denied for schema public/],
    ['update an event', sql`update audit_events set actor_email = 'x@example.com'`, /permission denied/],
    ['move the chain head', sql`update audit_chain_head set seq = 0`, /permission denied/],
    ['drop the chain trigger function', sql`drop function audit_chain_link() cascade`, /must be owner/],
  ])('when it tries to %s, then Postgres refuses', async (_label, statement, message) => {
    await expect(statement.execute(gateway)).rejects.toThrow(message);
  });

  test('when it reads the audit tables, then it may', async () => {
    await expect(gateway.selectFrom('audit_events').select('id').limit(1).execute()).resolves.toBeInstanceOf(Array);
  });
});

describe('the auditor role', () => {
  test('when it reads, then it may; when it writes, then Postgres refuses', async () => {
    await expect(auditor.selectFrom('audit_outcomes').select('event_id').limit(1).execute()).resolves.toBeInstanceOf(
      Array,
    );
    await expect(
      auditor
        .insertInto('audit_events')
        .values({
          request_id: 'r',
          action: 'secret.create',
          actor_email: 'a@b.co',
          actor_user: null,
          actor_groups: [],
          api_key: null,
          secret_id: null,
          client_ip: null,
          user_agent: null,
        })
        .execute(),
    ).rejects.toThrow(/permission denied/);
  });
});

describe('the auditor role and delivery tokens', () => {
  test("when it reads the consumers, then it sees their deliveries but Postgres refuses the tokens' HMACs", async () => {
    await expect(
      auditor.selectFrom('consumers').select(['name', 'last_delivery_at']).execute(),
    ).resolves.toBeInstanceOf(Array);
    await expect(auditor.selectFrom('consumers').select('token_hmac').execute()).rejects.toThrow(/permission denied/);
  });
});
