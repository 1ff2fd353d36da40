import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Options } from 'express-rate-limit';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { createDatabase, type Database } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { blockFor, nextBlock } from '../src/rate-limit/leases.ts';
import { type SharedStore, sharedRateLimitStore } from '../src/rate-limit/shared-store.ts';
import { asCaller, type Gateway, MASTER_KEY, startGateway, testDatabaseUrl } from './support/harness.ts';

/** Leased quotas: replicas share one budget exactly, without a Postgres round trip per request. */
const LIMIT = 40;
const statements = { count: 0 };
let first: Gateway;
let second: Gateway;
beforeAll(async () => {
  const options = (counter?: { count: number }) => ({
    rateLimits: { readsPerMinute: LIMIT, writesPerMinute: 10 },
    sharedRateLimits: { retrySharedAfterMs: 5_000, statements: counter },
  });
  [first, second] = await Promise.all([startGateway(options(statements)), startGateway(options(statements))]);
});
afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});

const list = (gateway: Gateway, who: Record<string, string>) =>
  gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(who);

describe('GET /v1/accounts/:apiKey/secrets under leased quotas', () => {
  test('when one caller sends 3x the limit across two instances, then at most the limit and at least 90% of it are admitted', async () => {
    const who = asCaller(`leased-${Date.now()}@example.com`, 'platform-admins');
    statements.count = 0;

    const statuses: number[] = [];
    for (let i = 0; i < 3 * LIMIT; i += 1) statuses.push((await list(i % 2 === 0 ? first : second, who)).status);

    const admitted = statuses.filter((s) => s === 200).length;
    expect(admitted).toBeLessThanOrEqual(LIMIT);
    expect(admitted).toBeGreaterThanOrEqual(Math.ceil(0.9 * LIMIT));
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // Leases, not one statement per request: far fewer round trips than requests.
    expect(statements.count).toBeLessThan(statuses.length / 3);
  });

  test('when a fresh caller sends the whole limit at once, split across two instances, then every request is admitted', async () => {
    const who = asCaller(`burst-${randomUUID()}@example.com`, 'platform-admins');

    const answers = await Promise.all(Array.from({ length: LIMIT }, (_, i) => list(i % 2 === 0 ? first : second, who)));

    expect(answers.map((a) => a.status)).toEqual(Array(LIMIT).fill(200));
  });

  test('when a caller stays within budget at steady load, then it costs at most one round trip per 10 requests and only its first request waits for a lease', async () => {
    const quiet = asCaller(`steady-${Date.now()}@example.com`, 'platform-admins');
    const leaseWaits = { count: 0 };
    const gateway = await startGateway({
      rateLimits: { readsPerMinute: 10_000, writesPerMinute: 10 },
      sharedRateLimits: { retrySharedAfterMs: 5_000, statements, leaseWaits },
    });
    try {
      statements.count = 0;
      for (let i = 0; i < 300; i += 1) expect((await list(gateway, quiet)).status).toBe(200);

      expect(statements.count / 300).toBeLessThanOrEqual(0.1);
      // The next block is leased while a quarter of this one is left; without that, every 50th request waits (6).
      expect(leaseWaits.count).toBeLessThanOrEqual(2);
    } finally {
      await gateway.close();
    }
  });
});

describe('shutting down', () => {
  test('when an instance stops with an unused lease, then it hands the lease back to the shared budget', async () => {
    const who = asCaller(`returning-${Date.now()}@example.com`, 'platform-admins');
    const gateway = await startGateway({
      rateLimits: { readsPerMinute: 1_000, writesPerMinute: 10 },
      sharedRateLimits: { retrySharedAfterMs: 5_000 },
    });
    const hits = async () =>
      (
        await first.db
          .selectFrom('rate_limit_hits')
          .select('hits')
          .where('key', '=', `reads:${who['X-Forwarded-Email']}`)
          .executeTakeFirst()
      )?.hits;
    // The first lease covers the one request; the second reads ahead a block of 50 beside its own.
    await list(gateway, who).expect(200);
    await list(gateway, who).expect(200);
    const leasedWhileRunning = await hits();

    await gateway.close();

    expect(leasedWhileRunning).toBe(51);
    expect(await hits()).toBe(2);
  });
});

describe('the lease block', () => {
  test.each([
    [3, 0, 1],
    [120, 0, 30],
    [120, 100, 5],
    [120, 119, 1],
    [10_000, 0, 50],
  ])('when the limit is %i and %i are leased, then the next block is %i', (limit, leased, block) => {
    expect(blockFor(limit, leased)).toBe(block);
  });
});

describe('the next lease', () => {
  const held = (sharedHits: number, remaining = 0) =>
    ({ remaining, granted: 1, sharedHits, resetAt: new Date(), exact: true }) as const;
  test.each([
    ['the first of the window, 7 waiting', 7, true, undefined, 7],
    ['a lone request after it, far from the limit', 27, false, held(10), 1],
    ['a burst after it, more than a block waiting', 40, true, held(10), 40],
    ['a lone request past half the limit', 1, true, held(70), 1],
    ['a read-ahead, no one waiting', 12, false, held(70, 3), 0],
    ['3 waiting with 2 left in the block', 1, true, held(118, 2), 3],
  ] as const)(
    'when the lease is %s (limit 120), then it asks for %i (exact: %s)',
    (_case, want, exact, current, waiting) => {
      expect(nextBlock(120, current, waiting)).toEqual({ want, exact });
    },
  );
});

describe('a burst within the limit, on leased quotas', () => {
  let db: Kysely<Database>;
  beforeAll(() => {
    db = createDatabase({ connectionString: testDatabaseUrl(), logger: createLogger('error'), max: 5 });
  });
  afterAll(() => db.destroy());

  /** Replicas of one deployment: one prefix, one shared row, a lease table each. */
  const storesFor = (replicas: number, limit: number) => {
    const prefix = `burst:${randomUUID()}:`;
    return Array.from({ length: replicas }, () => {
      const store = sharedRateLimitStore(db, createLogger('error'), prefix);
      void store.init?.({ windowMs: 60_000, limit } as Options);
      return store;
    });
  };

  // A replica's first lease of a window covers exactly the requests waiting for it, so a burst that arrives at
  // once leaves no unused lease on one replica that another lacks, however it is split between them.
  test.each([1, 2, 3])(
    'when a burst of up to the limit arrives at once, split across %d replica(s), then every request is admitted',
    async (replicas) => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 120 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.array(fc.nat({ max: replicas - 1 }), { minLength: 120, maxLength: 120 }),
          async (limit, share, replicaOf) => {
            const burst = Math.max(1, Math.ceil(limit * share));
            const key = `caller-${randomUUID()}`;
            const stores = storesFor(replicas, limit);
            const answers = await Promise.all(
              Array.from({ length: burst }, (_, i) => (stores[replicaOf[i] ?? 0] as SharedStore).increment(key)),
            );
            runs += 1;
            expect(answers.filter((a) => a.totalHits > limit)).toEqual([]);
          },
        ),
        { numRuns: 25 },
      );
      expect(runs).toBe(25);
    },
    60_000,
  );

  test('when a burst of twice the limit arrives at once on two replicas, then exactly the limit is admitted', async () => {
    const limit = 30;
    const key = `caller-${randomUUID()}`;
    const stores = storesFor(2, limit);

    const answers = await Promise.all(
      Array.from({ length: 2 * limit }, (_, i) => (stores[i % 2] as SharedStore).increment(key)),
    );

    expect(answers.filter((a) => a.totalHits <= limit)).toHaveLength(limit);
  });
});
