import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Kysely } from 'kysely';
import { createLongReads } from '../src/audit/long-reads.ts';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { createDatabase, type Database } from '../src/database.ts';
import { AppError } from '../src/errors.ts';
import { createLogger } from '../src/logger.ts';
import { admin, type Gateway, MASTER_KEY, reviewer, startGateway, SUB_KEY } from './support/harness.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { seedChainedEvents } from './support/seed-audit.ts';

/** Availability: long reads (verify, export) must never starve creates, revokes or readiness. */

const EVENTS = 60_000; // 120,000 chained records: a full walk takes about a second here

let scratch: ScratchDatabase;
let gateway: Gateway;
beforeAll(async () => {
  scratch = await createScratchDatabase('verify_load');
  const owner = createDatabase({
    connectionString: scratch.superuserUrl,
    logger: createLogger('error'),
    statementTimeoutMs: 0,
  });
  await seedChainedEvents(owner, EVENTS);
  await owner.destroy();
  gateway = await startGateway({ databaseUrl: scratch.gatewayUrl });
}, 120_000);
afterAll(async () => {
  await gateway.close();
  await scratch.drop();
});

const verify = (full: boolean) => {
  const request = gateway.http.get('/v1/audit-events/verify').set(reviewer);
  return (full ? request.query({ full: 'true' }) : request).then((res) => ({ res, doneAt: Date.now() }));
};

describe('GET /v1/audit-events/verify', () => {
  test('when 12 verifies run at once over a long chain, then a create answers 201 within 2 s and readiness stays 200', async () => {
    const verifies = Array.from({ length: 12 }, (_, i) => verify(i % 2 === 0));

    const started = Date.now();
    const created = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .send({ secret: exampleSecret() });
    const createdAt = Date.now();
    const ready = await gateway.http.get('/readyz');
    const results = await Promise.all(verifies);

    expect(created.status).toBe(201);
    expect(createdAt - started).toBeLessThan(2_000);
    expect(ready.status).toBe(200);
    // The create really overlapped the walks, or this test would prove nothing.
    expect(Math.max(...results.map((r) => r.doneAt))).toBeGreaterThan(createdAt);
    for (const { res } of results) {
      expect([200, 503]).toContain(res.status);
      if (res.status === 200) expect(res.body).toMatchObject({ status: 'intact' });
      else expect(res.headers['retry-after']).toMatch(/^\d+$/);
    }
  }, 60_000);

  test('when the chain was verified once, then a routine verify checks only what came since', async () => {
    await verify(false);
    await gateway.http.post(`/v1/accounts/${SUB_KEY}/secrets`).set(admin).send({ secret: exampleSecret() }).expect(201);

    const { res } = await verify(false);
    const full = (await verify(true)).res;

    expect(res.body).toMatchObject({ status: 'intact', mode: 'incremental' });
    expect(full.body).toMatchObject({
      status: 'intact',
      mode: 'full',
      records: res.body.records,
      head_hash: res.body.head_hash,
    });
  }, 60_000);
});

describe('the long-read cap', () => {
  test('when more long reads arrive than the cap allows, then the extra one is refused at once with 503 and Retry-After', async () => {
    const db = {} as Kysely<Database>;
    const reads = createLongReads(db, 2);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const running = [reads.run(() => gate), reads.run(() => gate)];

    const refused = reads.run(async () => 'ran');

    await expect(refused).rejects.toMatchObject({ status: 503, code: 'busy', options: { retryAfterSeconds: 5 } });
    await expect(refused).rejects.toBeInstanceOf(AppError);
    release();
    await Promise.all(running);
    await expect(reads.run(async () => 'ran')).resolves.toBe('ran');
  });
});
