import { type AddressInfo, connect } from 'node:net';
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
  app = await startGateway({ subAccounts: ['zone0001', 'zone0002', 'zone0003', 'utf80001'] });
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

  // Whoever controls the right-most untrusted hop chooses this header: it must never make the audit write fail.
  test.each([
    ['a scoped IPv6 address', 'fe80::1%eth0', 'fe80::1', 'zone0001'],
    ['a scoped IPv4-mapped address', '::ffff:10.1.2.3%25', '10.1.2.3', 'zone0002'],
    ['a zone and nothing else', '%eth0', null, 'zone0003'],
  ])(
    'when the proxy forwards %s, then the create is audited with the address without its zone',
    async (_label, forwarded, stored, apiKey) => {
      const id = requestId('xff-zone');

      const res = await app.http
        .post(`/v1/accounts/${apiKey}/secrets`)
        .set(admin)
        .set('X-Request-Id', id)
        .set('X-Forwarded-For', forwarded)
        .send({ secret: exampleSecret() });

      expect(res.status).toBe(201);
      expect(await auditEventFor(app, id)).toEqual([
        expect.objectContaining({ client_ip: stored, outcome: 'success' }),
      ]);
    },
  );

  test('when the user agent is UTF-8, then the audit row stores what the client sent, not its Latin-1 reading', async () => {
    const id = requestId('utf8-agent');
    const agent = 'client ＝1+1 ü';
    const server = app.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    // The exact bytes a browser or curl sends: the header's UTF-8, on a raw socket.
    const body = JSON.stringify({ secret: exampleSecret() });
    const head = [
      'POST /v1/accounts/utf80001/secrets HTTP/1.1',
      'host: gateway',
      'connection: close',
      ...Object.entries(admin).map(([name, value]) => `${name}: ${value}`),
      `x-request-id: ${id}`,
      'content-type: application/json',
      `content-length: ${Buffer.byteLength(body)}`,
      `user-agent: ${agent}`,
    ].join('\r\n');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
      let text = '';
      socket
        .on('data', (chunk) => (text += chunk))
        .once('end', () => resolve(text))
        .once('error', reject);
      socket.write(Buffer.from(`${head}\r\n\r\n${body}`, 'utf8')); // connection: close ends it
    });
    const status = Number(answer.slice(9, 12));
    await new Promise((resolve) => server.close(resolve));

    expect(status).toBe(201);
    expect(await auditEventFor(app, id)).toEqual([expect.objectContaining({ user_agent: agent })]);
  });
});
