/**
 * npm run bench:audit — seeds 1,000,000 audit events into a throwaway Postgres and times filtered
 * pages of GET /v1/audit-events' query (actor plus a time range; api_key plus outcome; the next page
 * by cursor), as the runtime role. Prints p50/p95/p99 against the 50 ms p95 target.
 */
import { performance } from 'node:perf_hooks';
import { queryAuditEvents } from '../src/audit/query.ts';
import { createDatabase } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { createMigratedDatabase, withRole } from '../test/support/global-setup.ts';
import { startCluster, stopCluster } from '../test/support/pg-cluster.ts';
import { seedAuditEvents } from '../test/support/seed-audit.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const RUNS = 300;
const TARGET_P95_MS = 50;
const DAY = 86_400_000;

const pick = <T>(items: readonly T[]) => items[Math.floor(Math.random() * items.length)] as T;
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

async function time(label: string, run: () => Promise<unknown>): Promise<{ label: string; p95: number }> {
  for (let i = 0; i < 20; i += 1) await run(); // warm-up: plans and buffers
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(samples, p).toFixed(2));
  console.log(`${label.padEnd(44)} p50 ${p50} ms  p95 ${p95} ms  p99 ${p99} ms  (${RUNS} runs)`);
  return { label, p95: Number(p95) };
}

async function main(): Promise<void> {
  const cluster = await startCluster({ fsync: true });
  try {
    await createMigratedDatabase(cluster.url, 'bench');
    const superuser = createDatabase({
      connectionString: withRole(cluster.url, 'postgres', 'bench'),
      logger: createLogger('error'),
      statementTimeoutMs: 0,
    });
    const seedStarted = performance.now();
    await seedAuditEvents(superuser, EVENTS);
    console.log(
      `seeded ${EVENTS.toLocaleString('en')} events with outcomes in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s`,
    );
    await superuser.destroy();

    const db = createDatabase({
      connectionString: withRole(cluster.url, 'gateway', 'bench'),
      logger: createLogger('error'),
    });
    const actors = Array.from({ length: 200 }, (_, i) => `actor${i}@example.com`);
    const keys = Array.from({ length: 20 }, (_, i) => `acct${String(i).padStart(4, '0')}`);
    const results = [
      await time('actor + 30-day window, 50 per page', () => {
        const until = new Date(Date.now() - Math.random() * 60 * DAY);
        return queryAuditEvents(db, {
          actor: pick(actors),
          since: new Date(until.getTime() - 30 * DAY),
          until,
          limit: 50,
        });
      }),
      await time('api_key + outcome, 50 per page', () =>
        queryAuditEvents(db, {
          apiKey: pick(keys),
          outcome: pick(['success', 'denied', 'upstream_failed'] as const),
          limit: 50,
        }),
      ),
      await time('api_key + outcome, second page by cursor', async () => {
        const filter = { apiKey: pick(keys), outcome: pick(['denied', 'upstream_failed'] as const), limit: 50 };
        const first = await queryAuditEvents(db, filter);
        return queryAuditEvents(db, { ...filter, cursor: first.nextCursor ?? undefined });
      }),
    ];
    await db.destroy();
    const worst = Math.max(...results.map((r) => r.p95));
    console.log(
      `\ntarget: p95 < ${TARGET_P95_MS} ms at ${EVENTS.toLocaleString('en')} events → worst p95 ${worst.toFixed(2)} ms: ${worst < TARGET_P95_MS ? 'MET' : 'MISSED'}`,
    );
  } finally {
    await stopCluster(cluster);
  }
}

await main();
