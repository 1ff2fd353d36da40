import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { blockFor } from '../src/rate-limit/shared-store.ts';
import { asCaller, type Gateway, MASTER_KEY, startGateway } from './support/harness.ts';

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
    await list(gateway, who).expect(200);
    const leasedWhileRunning = await hits();

    await gateway.close();

    expect(leasedWhileRunning).toBe(50);
    expect(await hits()).toBe(1);
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
