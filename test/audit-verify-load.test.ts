import { monitorEventLoopDelay } from 'node:perf_hooks';
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
  return (full ? request.query({ full: 'true' }) : request).then((res) => ({ res }));
};

describe('GET /v1/audit-events/verify', () => {
  test('when 12 verifies run at once over a long chain, then a create answers 201 before they end and every readiness poll is 200', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    let walking = true;
    const verifies = Promise.all(Array.from({ length: 12 }, (_, i) => verify(i % 2 === 0))).finally(() => {
      walking = false;
    });
    const polls: number[] = [];
    const poll = async () => {
      while (walking) polls.push((await gateway.http.get('/readyz')).status);
    };
    const polling = poll();

    const created = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .send({ secret: exampleSecret() });
    const createdWhileWalking = walking;
    const results = await verifies;
    await polling;
    delay.disable();
    console.log(
      `verify load: ${polls.length} readiness polls; event-loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`,
    );

    expect(created.status).toBe(201);
    expect(createdWhileWalking).toBe(true); // the create really overlapped the walks, or this test proves nothing
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.filter((status) => status !== 200)).toEqual([]);
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

    expect(res.body).toMatchObject({ status: 'intact', mode: 'incremental', checked_now: 2, last_full_verify: null });
    expect(full.body.checked_now).toBe(full.body.records);
    expect(full.body).toMatchObject({
      events: res.body.events,
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
