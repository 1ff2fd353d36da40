import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { asCaller, type Gateway, MASTER_KEY, startGateway, testDatabaseUrl } from './support/harness.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

const stamp = `${process.pid}-${Date.now()}`;
const caller = (name: string) => asCaller(`${name}-${stamp}@example.com`, 'platform-admins');
const list = (gateway: Gateway, who: Record<string, string>) =>
  gateway.http.get(`/v1/accounts/${MASTER_KEY}/secrets`).set(who);

describe('rate limits across replicas (GET /v1/accounts/:apiKey/secrets)', () => {
  let first: Gateway;
  let second: Gateway;
  beforeAll(async () => {
    const options = {
      rateLimits: { readsPerMinute: 3, writesPerMinute: 3 },
      sharedRateLimits: { retrySharedAfterMs: 5_000 },
    };
    [first, second] = await Promise.all([startGateway(options), startGateway(options)]);
  });
  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
  });

  test('when one caller alternates between two instances, then they draw on one budget', async () => {
    const who = caller('shared');

    const statuses = [];
    for (const gateway of [first, second, first, second]) statuses.push((await list(gateway, who)).status);

    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('rate limits and audit writes while Postgres is unreachable', () => {
  let proxy: TcpProxy;
  let gateway: Gateway;
  beforeAll(async () => {
    const target = new URL(testDatabaseUrl());
    proxy = await startTcpProxy(target.hostname, Number(target.port));
    target.port = String(proxy.port);
    gateway = await startGateway({
      databaseUrl: target.toString(),
      rateLimits: { readsPerMinute: 2, writesPerMinute: 10 },
      sharedRateLimits: { retrySharedAfterMs: 0 },
    });
  });
  afterAll(async () => {
    await gateway.close();
    await proxy.close();
  });

  test('when Postgres goes away and comes back, then reads keep working under per-instance limits, writes answer 503, and both recover', async () => {
    const reader = caller('outage-reader');
    const writer = caller('outage-writer');
    await list(gateway, reader).expect(200);

    proxy.setDown(true);
    const readsDuringOutage = [
      (await list(gateway, reader)).status,
      (await list(gateway, reader)).status,
      (await list(gateway, reader)).status,
    ];
    const writeDuringOutage = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(writer)
      .send({ secret: exampleSecret() });
    const postsReachingVonage = gateway.vonage.received.filter((r) => r.method === 'POST').length;
    proxy.setDown(false);
    const writeAfter = await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(writer)
      .send({ secret: exampleSecret() });
    const readAfter = await list(gateway, caller('outage-after'));
    const sharedRow = await gateway.db
      .selectFrom('rate_limit_hits')
      .select('hits')
      .where('key', '=', `reads:outage-after-${stamp}@example.com`)
      .executeTakeFirst();

    expect(readsDuringOutage).toEqual([200, 200, 429]);
    expect(writeDuringOutage.status).toBe(503);
    expect(postsReachingVonage).toBe(0);
    expect(writeAfter.status).toBe(201);
    expect(readAfter.status).toBe(200);
    expect(sharedRow).toEqual({ hits: 1 });
  });
});
