import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { createMigratedDatabase, withRole } from './support/global-setup.ts';
import { admin, type Gateway, MASTER_KEY, requestId, startGateway, until } from './support/harness.ts';
import { type Cluster, restartServer, startCluster, stopCluster, stopServer } from './support/pg-cluster.ts';

/**
 * Postgres really stopped (fast shutdown, fsync on) while creates keep arriving, then started again on
 * the same data and port; the gateway is never restarted.
 */

let cluster: Cluster;
let gateway: Gateway;
beforeAll(async () => {
  cluster = await startCluster({ fsync: true });
  await createMigratedDatabase(cluster.url, 'outage');
  gateway = await startGateway({ databaseUrl: withRole(cluster.url, 'gateway', 'outage'), vonageTimeoutMs: 2_000 });
}, 60_000);
afterAll(async () => {
  await gateway.close();
  await stopCluster(cluster);
});

/** Requests that start or end while Postgres is stopping or starting are not counted in any phase. */
type Phase = 'before' | 'stopping' | 'down' | 'starting' | 'after';
interface Sent {
  id: string;
  status: number;
  phase: Phase;
}

describe('POST /v1/accounts/:apiKey/secrets while Postgres stops and restarts under load', () => {
  test('when Postgres goes down, then writes answer 503; when it returns, writes recover by themselves and no intent is lost', async () => {
    const sent: Sent[] = [];
    let phase: Phase = 'before';
    let running = true;
    const worker = async () => {
      while (running) {
        const id = requestId('outage');
        const startedIn = phase;
        const res = await gateway.http
          .post(`/v1/accounts/${MASTER_KEY}/secrets`)
          .set(admin)
          .set('X-Request-Id', id)
          .send({ secret: exampleSecret() });
        // A request is counted in a phase only if it started and ended in it.
        if (startedIn === phase) sent.push({ id, status: res.status, phase });
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const count = (p: Phase, predicate: (s: Sent) => boolean = () => true) =>
      sent.filter((s) => s.phase === p && predicate(s)).length;

    await until(() => count('before') >= 20, 20_000);
    phase = 'stopping';
    await stopServer(cluster);
    phase = 'down';
    await until(() => count('down') >= 20, 20_000);
    phase = 'starting';
    await restartServer(cluster);
    phase = 'after';
    await until(() => count('after', (s) => s.status !== 503) >= 20, 30_000);
    running = false;
    await Promise.all(workers);

    expect(count('before', (s) => s.status === 503)).toBe(0);
    expect(count('down', (s) => s.status !== 503)).toBe(0);
    expect(count('after', (s) => s.status !== 503)).toBeGreaterThanOrEqual(20);
    const forwarded = sent.filter((s) => s.status !== 503).map((s) => s.id);
    const recorded = await gateway.db
      .selectFrom('audit_events')
      .select('request_id')
      .where('request_id', 'in', forwarded)
      .execute();
    expect(new Set(recorded.map((r) => r.request_id))).toEqual(new Set(forwarded));
    const postsToVonage = gateway.vonage.received.filter((r) => r.method === 'POST').length;
    const intents = await gateway.db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(postsToVonage).toBeLessThanOrEqual(Number(intents.n));
  }, 90_000);
});
