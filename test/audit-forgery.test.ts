import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Kysely, sql } from 'kysely';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { verifyChain } from '../src/audit/chain.ts';
import { createDatabase, type Database } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import {
  admin,
  auditEventFor,
  type Gateway,
  MASTER_KEY,
  requestId,
  startGateway,
  testDatabaseUrl,
} from './support/harness.ts';

/** Attempts by the runtime role `gateway` to write history it did not make. */
let gateway: Kysely<Database>;
let app: Gateway;
beforeAll(async () => {
  gateway = createDatabase({ connectionString: testDatabaseUrl(), logger: createLogger('error') });
  app = await startGateway();
});
afterAll(async () => {
  await Promise.all([gateway.destroy(), app.close()]);
});

const backdatedEvent = (id: string, requestIdValue: string) => sql`
  insert into audit_events (id, occurred_at, request_id, action, actor_email, actor_groups, api_key)
  overriding system value
  values (${id}, '2020-01-01T00:00:00Z', ${requestIdValue}, 'secret.revoke', 'kate@example.com', '{}', 'abcd1234')`;

async function eventWithoutOutcome(label: string): Promise<{ id: string; occurred_at: Date }> {
  const rid = requestId(label);
  await sql`insert into audit_events (request_id, action, actor_email, actor_groups) values (${rid}, 'secret.create', 'a@example.com', '{}')`.execute(
    gateway,
  );
  return gateway
    .selectFrom('audit_events')
    .select(['id', 'occurred_at'])
    .where('request_id', '=', rid)
    .executeTakeFirstOrThrow();
}

describe('audit_events written directly as the gateway role', () => {
  test('when a backdated insert chooses its own id, then it is stored with a fresh id and the current time', async () => {
    const rid = requestId('backdated');
    const started = Date.now();

    await backdatedEvent('1000000', rid).execute(gateway);

    const row = await gateway
      .selectFrom('audit_events')
      .select(['id', 'occurred_at'])
      .where('request_id', '=', rid)
      .executeTakeFirstOrThrow();
    expect(row.id).not.toBe('1000000');
    expect(row.occurred_at.getTime()).toBeGreaterThanOrEqual(started - 5_000);
    expect((await verifyChain(gateway)).status).toBe('intact');
  });

  test('when a client_ip is not an address (=1+2), then Postgres refuses the row', async () => {
    const insert = sql`insert into audit_events (request_id, action, actor_email, actor_groups, client_ip)
      values (${requestId('ip')}, 'secret.create', 'a@example.com', '{}', '=1+2')`;

    await expect(insert.execute(gateway)).rejects.toThrow(/invalid input syntax for type inet/);
  });
});

describe('audit_outcomes written directly as the gateway role', () => {
  test('when an outcome names an event that does not exist, then Postgres refuses it', async () => {
    const insert = sql`insert into audit_outcomes (event_id, outcome, status) values (987654321, 'success', 204)`;

    await expect(insert.execute(gateway)).rejects.toThrow(/does not exist/);
  });

  test("when an outcome is backdated and names another account, then it gets the current time and its event's account", async () => {
    const event = await eventWithoutOutcome('backdated-outcome');

    await sql`insert into audit_outcomes (event_id, recorded_at, outcome, status, api_key)
      values (${event.id}, '2020-01-01T00:00:00Z', 'success', 201, 'zzzz9999')`.execute(gateway);

    const outcome = await gateway
      .selectFrom('audit_outcomes')
      .selectAll()
      .where('event_id', '=', event.id)
      .executeTakeFirstOrThrow();
    expect(outcome.recorded_at.getTime()).toBeGreaterThanOrEqual(event.occurred_at.getTime());
    expect(outcome.api_key).toBeNull();
  });

  test('when a second outcome is written for one event, then Postgres refuses it', async () => {
    const event = await eventWithoutOutcome('second-outcome');
    await sql`insert into audit_outcomes (event_id, outcome, status) values (${event.id}, 'denied', 403)`.execute(
      gateway,
    );

    const second = sql`insert into audit_outcomes (event_id, outcome, status) values (${event.id}, 'success', 201)`;

    await expect(second.execute(gateway)).rejects.toThrow(/duplicate key/);
    expect((await verifyChain(gateway)).status).toBe('intact');
  });
});

describe('POST /v1/accounts/:apiKey/secrets', () => {
  test('when the proxy forwards X-Forwarded-For: =1+2, then the audit row stores no client_ip', async () => {
    const id = requestId('xff-junk');

    const res = await app.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('X-Request-Id', id)
      .set('X-Forwarded-For', '=1+2')
      .send({ secret: exampleSecret() });

    expect(res.status).toBe(201);
    expect(await auditEventFor(app, id)).toEqual([expect.objectContaining({ client_ip: null, outcome: 'success' })]);
  });
});
