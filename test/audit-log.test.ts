import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Kysely, sql } from 'kysely';
import { createDatabase, type Database } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { expectToMatchContract } from './support/contract.ts';
import {
  admin,
  asCaller,
  type Gateway,
  MASTER_KEY,
  requestId,
  reviewer,
  startGateway,
  SUB_KEY,
  superuserDatabaseUrl,
  until,
} from './support/harness.ts';

const EVENTS = '/v1/audit-events';

let gateway: Gateway;
/** The strongest role there is: the triggers must refuse even a superuser. */
let superuser: Kysely<Database>;
beforeAll(async () => {
  gateway = await startGateway({ vonageTimeoutMs: 2_000 });
  superuser = createDatabase({ connectionString: superuserDatabaseUrl(), logger: createLogger('error') });
});
afterAll(async () => {
  await Promise.all([gateway.close(), superuser.destroy()]);
});

/** A caller unique to this test run, so filters see only this file's events. */
const actor = `auditee-${process.pid}-${Date.now()}@example.com`;
const auditee = asCaller(actor, 'platform-admins');

describe('audit_events and audit_outcomes in the database', () => {
  test.each([
    ['UPDATE of an event', sql`update audit_events set actor_email = 'someone@else.example'`],
    ['DELETE of an event', sql`delete from audit_events`],
    ['TRUNCATE of events', sql`truncate audit_events cascade`],
    ['UPDATE of an outcome', sql`update audit_outcomes set outcome = 'success'`],
    ['DELETE of an outcome', sql`delete from audit_outcomes`],
    ['TRUNCATE of outcomes', sql`truncate audit_outcomes`],
  ])('when a superuser attempts %s, then the database refuses it', async (_label, statement) => {
    await gateway.http.post(`/v1/accounts/${MASTER_KEY}/secrets`).set(auditee).send({ secret: 'short' }).expect(400);
    // Other test files write concurrently, so only this file's own actor is counted.
    const mine = () =>
      sql<{ events: string; outcomes: string }>`
      select count(*) as events, count(o.event_id) as outcomes, bool_and(e.actor_email = ${actor}) as untouched
      from audit_events e left join audit_outcomes o on o.event_id = e.id where e.actor_email = ${actor}`.execute(
        superuser,
      );
    const before = await mine();

    await expect(statement.execute(superuser)).rejects.toThrow(/append-only/);

    expect((await mine()).rows).toEqual(before.rows);
  });

  test('when a superuser switches to replica mode to skip triggers, then UPDATE is still refused', async () => {
    await expect(
      superuser.connection().execute(async (conn) => {
        await sql`set session_replication_role = replica`.execute(conn);
        try {
          await sql`update audit_events set actor_email = 'someone@else.example'`.execute(conn);
        } finally {
          await sql`set session_replication_role = origin`.execute(conn);
        }
      }),
    ).rejects.toThrow(/append-only/);
  });

  test('when an outcome is recorded twice for one event, then the second is refused', async () => {
    const id = requestId('double-outcome');
    await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(auditee)
      .set('X-Request-Id', id)
      .send({ secret: 'short' })
      .expect(400);
    const event = await gateway.db
      .selectFrom('audit_events')
      .select('id')
      .where('request_id', '=', id)
      .executeTakeFirstOrThrow();

    await expect(
      gateway.db
        .insertInto('audit_outcomes')
        .values({
          event_id: event.id,
          api_key: null,
          outcome: 'success',
          status: 201,
          upstream_status: 201,
          created_secret_id: null,
        })
        .execute(),
    ).rejects.toThrow(/duplicate key/);
  });
});

describe('GET /v1/audit-events', () => {
  test('when a reviewer filters by actor, then events come newest first, with the documented shape', async () => {
    const first = requestId('q1');
    const second = requestId('q2');
    await gateway.http
      .post(`/v1/accounts/${SUB_KEY}/secrets`)
      .set(auditee)
      .set('X-Request-Id', first)
      .send({ secret: exampleSecret() })
      .expect(201);
    await gateway.http
      .post(`/v1/accounts/${SUB_KEY}/secrets`)
      .set(auditee)
      .set('X-Request-Id', second)
      .send({ secret: 'bad' })
      .expect(400);

    const res = await gateway.http.get(EVENTS).query({ actor, api_key: SUB_KEY }).set(reviewer);

    expect(res.status).toBe(200);
    expectToMatchContract(res, 'get', EVENTS);
    expect(res.body.events.map((e: { request_id: string }) => e.request_id)).toEqual([second, first]);
    expect(res.body.events[1]).toMatchObject({
      action: 'secret.create',
      actor: { email: actor, user: null, groups: ['platform-admins'] },
      outcome: 'success',
      status: 201,
    });
    expect(res.body.events[1].secret_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.events[0]).toMatchObject({
      outcome: 'invalid',
      status: 400,
      upstream_status: null,
      secret_id: null,
    });
  });

  test('when results span pages, then the cursor walks them without gaps or repeats', async () => {
    const ids = [requestId('p1'), requestId('p2'), requestId('p3')];
    for (const id of ids)
      await gateway.http
        .post(`/v1/accounts/${MASTER_KEY}/secrets`)
        .set(auditee)
        .set('X-Request-Id', id)
        .send({ secret: 'x' })
        .expect(400);

    const page1 = await gateway.http.get(EVENTS).query({ actor, outcome: 'invalid', limit: 2 }).set(reviewer);
    const page2 = await gateway.http
      .get(EVENTS)
      .query({ actor, outcome: 'invalid', limit: 2, cursor: page1.body.next_cursor })
      .set(reviewer);

    expect(page1.status).toBe(200);
    expect(page1.body.next_cursor).toEqual(expect.any(String));
    const seen = [...page1.body.events, ...page2.body.events].map((e: { request_id: string }) => e.request_id);
    expect(seen.slice(0, 3)).toEqual([...ids].reverse());
    expect(new Set(seen).size).toBe(seen.length);
  });

  test('when the time window excludes everything, then an empty page with no cursor', async () => {
    const res = await gateway.http
      .get(EVENTS)
      .query({ actor, since: '2001-01-01T00:00:00Z', until: '2001-01-02T00:00:00Z' })
      .set(reviewer);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ events: [], next_cursor: null });
  });

  test('when the request is in flight, then the attempt is visible as incomplete, and success once Vonage answers', async () => {
    gateway.vonage.setFault({ kind: 'slow', delayMs: 300 });
    const id = requestId('in-flight');
    const pending = gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(auditee)
      .set('X-Request-Id', id)
      .send({ secret: exampleSecret() })
      .then((r) => r);
    const received = gateway.vonage.received.length;
    await until(() => gateway.vonage.received.length > received);

    const during = await gateway.http.get(EVENTS).query({ actor, outcome: 'incomplete' }).set(reviewer);
    gateway.vonage.setFault(null);
    const done = await pending;
    const after = await gateway.http.get(EVENTS).query({ actor, limit: 1 }).set(reviewer);

    expect(during.body.events.map((e: { request_id: string }) => e.request_id)).toContain(id);
    expect(during.body.events.find((e: { request_id: string }) => e.request_id === id)).toMatchObject({
      outcome: 'incomplete',
      status: null,
    });
    expect(done.status).toBe(201);
    expect(after.body.events[0]).toMatchObject({ request_id: id, outcome: 'success' });
  });

  test.each([
    ['a limit of 0', { limit: 0 }, 'limit'],
    ['a limit over 500', { limit: 501 }, 'limit'],
    ['an unknown outcome', { outcome: 'maybe' }, 'outcome'],
    ['a since that is not a date', { since: 'yesterday' }, 'since'],
    ['an unknown filter', { colour: 'red' }, 'colour'],
    ['a forged cursor', { cursor: Buffer.from('ev:1 or 1=1').toString('base64url') }, 'cursor'],
    ['since after until', { since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' }, 'since'],
  ])('when the query has %s, then 400 names it', async (_label, query, name) => {
    const res = await gateway.http.get(EVENTS).query(query).set(reviewer);

    expect(res.status).toBe(400);
    expect(res.body.invalid_params).toEqual(expect.arrayContaining([expect.objectContaining({ name })]));
    expectToMatchContract(res, 'get', EVENTS);
  });

  test('when the caller lacks audit:read, then 403', async () => {
    const res = await gateway.http.get(EVENTS).set(admin);

    expect(res.status).toBe(403);
    expectToMatchContract(res, 'get', EVENTS);
  });
});
