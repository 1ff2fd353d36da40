import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './support/eventually.ts';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { checkpointOf } from '../src/audit/anchors.ts';
import { startDeliverer } from '../src/audit/stream/deliverer.ts';
import { watchChain } from '../src/audit/watch.ts';
import { runAuditCli } from '../src/cli/audit.ts';
import type { AuditStreamSettings } from '../src/audit/stream/settings.ts';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { createDatabase } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { chainGauges, streamGauges } from '../src/wiring.ts';
import { type AuditSink, startAuditSink } from './support/audit-sink.ts';
import { admin, type Gateway, MASTER_KEY, openGateway, startGateway, SUB_KEY, until } from './support/harness.ts';
import { rewriteFrom } from './support/tamper.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { captured } from './support/cli.ts';

/** The audit log leaves the building: streamed in order, at least once, by one replica; anchored outside. */
const SECRET = `whsec_${Buffer.from('stream-test-secret-0123456789abcdef').toString('base64')}`;
const GENESIS = createHash('sha256').update('vonage-secrets-gateway audit chain v1').digest('hex');
const logger = createLogger('error');

let scratch: ScratchDatabase;
let gateway: Gateway;
let sink: AuditSink;
const children = new Set<ChildProcess>();
beforeAll(async () => {
  scratch = await createScratchDatabase('stream');
  gateway = await startGateway({ databaseUrl: scratch.gatewayUrl });
  sink = await startAuditSink();
  for (const apiKey of [MASTER_KEY, SUB_KEY]) {
    await gateway.http.post(`/v1/accounts/${apiKey}/secrets`).set(admin).send({ secret: exampleSecret() }).expect(201);
    await gateway.http.post(`/v1/accounts/${apiKey}/secrets`).set(admin).send({ secret: 'short' }).expect(400);
  }
}, 30_000);
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await gateway.close();
  await sink.close();
  await scratch.drop();
});

const settings = (path = ''): AuditStreamSettings => ({
  url: `${sink.url}${path}`,
  format: 'webhook',
  secret: SECRET,
  batch: 3,
});
const head = async () =>
  Number((await gateway.db.selectFrom('audit_chain_head').select('seq').executeTakeFirstOrThrow()).seq);
const seqsOf = (body: string) => (JSON.parse(body) as { records: Array<{ seq: number }> }).records.map((r) => r.seq);
const resetCursor = () =>
  sql`update audit_stream_cursor set seq = 0, hash = sha256(convert_to('vonage-secrets-gateway audit chain v1', 'UTF8'))`.execute(
    gateway.db,
  );
const acknowledged = (path = '/hec') => sink.deliveries.filter((d) => d.status === 200 && d.path === path);
const deliveredUpTo = async (path = '/hec') => {
  const last =
    acknowledged(path)
      .flatMap((d) => seqsOf(d.body))
      .at(-1) ?? 0;
  return last >= (await head());
};

describe('the audit stream', () => {
  test('when the sink fails the first 3 posts, then every record still arrives, in order, signed, with no gaps', async () => {
    sink.deliveries.length = 0;
    sink.failNext(3);
    const deliverer = startDeliverer(gateway.db, settings(), {
      logger,
      gauges: streamGauges(gateway.metrics),
      pollMs: 20,
    });
    try {
      await until(() => sink.deliveries.filter((d) => d.status === 200).length > 0, 15_000);
      await eventually(() => deliveredUpTo(), { what: 'every record delivered', timeoutMs: 15_000, everyMs: 0 });
    } finally {
      await deliverer.stop();
    }

    expect(sink.deliveries.slice(0, 3).map((d) => d.status)).toEqual([503, 503, 503]);
    expect(sink.deliveries[3]?.headers['webhook-id']).toBe(sink.deliveries[0]?.headers['webhook-id']); // a retry, not new data
    const records = acknowledged().flatMap(
      (d) => (JSON.parse(d.body) as { records: Array<Record<string, unknown>> }).records,
    );
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: records.length }, (_, i) => i + 1));
    expect(records[0]?.prev_hash).toBe(GENESIS);
    records.forEach((record, i) => {
      if (i > 0) expect(record.prev_hash).toBe(records[i - 1]?.hash);
    });
    expect(records.find((r) => r.kind === 'event')).toMatchObject({
      action: 'secret.create',
      actor_email: 'admin@example.com',
    });
    for (const delivery of acknowledged())
      expect(() => new Webhook(SECRET).verify(delivery.body, delivery.headers)).not.toThrow();
    const metrics = await gateway.metrics.registry.metrics();
    expect(metrics).toMatch(/^audit_stream_lag_records 0$/m);
    expect(metrics).toMatch(/^audit_stream_last_success_timestamp_seconds \d{10}/m);
  }, 40_000);

  test('when the delivering replica is killed mid-batch and restarted, then delivery resumes and only that batch repeats', async () => {
    await resetCursor();
    sink.deliveries.length = 0;
    const env = {
      PATH: process.env.PATH,
      DATABASE_URL: scratch.gatewayUrl,
      SINK_URL: sink.url,
      STREAM_SECRET: SECRET,
      BATCH: '3',
    };
    const worker = () => {
      const child = spawn(process.execPath, ['test/support/stream-worker.ts'], { env, stdio: 'ignore' });
      children.add(child);
      return child;
    };
    const held = sink.holdNext();
    const first = worker();
    await held;
    const killedBatch = seqsOf(sink.deliveries[0]?.body ?? '{"records":[]}');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    const second = worker();
    try {
      await eventually(() => deliveredUpTo(), { what: 'delivery resuming', timeoutMs: 20_000, everyMs: 50 });
    } finally {
      await new Promise((resolve) => second.once('exit', resolve).kill('SIGKILL'));
    }

    const all = sink.deliveries.flatMap((d) => seqsOf(d.body));
    const repeated = all.filter((seq, i) => all.indexOf(seq) !== i);
    expect(killedBatch).toEqual([1, 2, 3]);
    expect(repeated).toEqual(killedBatch);
    expect([...new Set(all)]).toEqual(Array.from({ length: await head() }, (_, i) => i + 1));
  }, 40_000);

  test('when two replicas run, then only one delivers', async () => {
    // The killed worker's session (and its leadership lock) must be gone, or neither replica can lead.
    const leaderLocks = async () =>
      Number(
        (
          await sql<{
            n: string;
          }>`select count(*) as n from pg_locks where locktype = 'advisory' and objid = 7340916
            and database = (select oid from pg_database where datname = current_database())`.execute(gateway.db)
        ).rows[0]?.n,
      );
    await eventually(async () => (await leaderLocks()) === 0, { what: 'no stream leader left', timeoutMs: 15_000 });
    await resetCursor();
    sink.deliveries.length = 0;
    const pools = [1, 2].map(() => createDatabase({ connectionString: scratch.gatewayUrl, logger }));
    const replicas = pools.map((db, i) => startDeliverer(db, settings(`/replica-${i}`), { logger, pollMs: 20 }));
    try {
      const delivered = async () => (await deliveredUpTo('/hec/replica-0')) || (await deliveredUpTo('/hec/replica-1'));
      await eventually(delivered, { what: 'one replica delivering', timeoutMs: 15_000 });
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
      await Promise.all(pools.map((db) => db.destroy()));
    }

    expect(new Set(sink.deliveries.map((d) => d.path)).size).toBe(1);
  }, 30_000);
});

describe('checkpoints on the audit stream', () => {
  test('when the sink refuses a checkpoint, then the same checkpoint is retried until it is taken', async () => {
    // Caught up: the SIEM has every record, so the next POST is the checkpoint.
    await sql`update audit_stream_cursor set seq = h.seq, hash = h.hash from audit_chain_head h`.execute(gateway.db);
    sink.deliveries.length = 0;
    sink.failNext(2);
    const deliverer = startDeliverer(gateway.db, settings('/anchors'), { logger, pollMs: 20, anchorEveryMs: 100 });
    try {
      await until(() => acknowledged('/hec/anchors').length > 0, 15_000);
    } finally {
      await deliverer.stop();
    }

    const [first, second, third] = sink.deliveries;
    expect([first?.status, second?.status, third?.status]).toEqual([503, 503, 200]);
    expect(new Set([first, second, third].map((d) => d?.headers['webhook-id'])).size).toBe(1);
    const { records } = JSON.parse(third?.body ?? '{}') as { records: Array<Record<string, unknown>> };
    expect(records).toEqual([
      {
        kind: 'checkpoint',
        seq: await head(),
        head_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        records: await head(),
      },
    ]);
    expect(() => new Webhook(SECRET).verify(third?.body ?? '', third?.headers ?? {})).not.toThrow();
  });
});

describe('the audit stream in Splunk HEC format', () => {
  test('when AUDIT_STREAM_FORMAT is splunk-hec, then each record is one HEC event, authorised with the HEC token', async () => {
    await resetCursor();
    sink.deliveries.length = 0;
    const hec: AuditStreamSettings = {
      url: `${sink.url}/services/collector/event`,
      format: 'splunk-hec',
      token: 'hec-token-1',
      batch: 50,
    };
    const deliverer = startDeliverer(gateway.db, hec, { logger, pollMs: 20 });
    try {
      await until(() => sink.deliveries.length > 0, 10_000);
    } finally {
      await deliverer.stop();
    }

    const [first] = sink.deliveries;
    expect(first?.headers.authorization).toBe('Splunk hec-token-1');
    type HecEvent = { time: number; sourcetype: string; event: { seq: number; kind: string } };
    const events = (first?.body ?? '').split('\n').map((line) => JSON.parse(line) as HecEvent);
    expect(events[0]).toMatchObject({ sourcetype: 'vonage:gateway:audit', event: { seq: 1, kind: 'event' } });
    expect(events.map((e) => e.event.seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    expect(typeof events[0]?.time).toBe('number');
  });
});

describe('npm run audit -- verify --anchors', () => {
  test('when the owner rewrites an old record and recomputes every later hash, then verify says intact but the anchors say diverged', async () => {
    const anchor = await checkpointOf(gateway.db);
    const dir = mkdtempSync(join(tmpdir(), 'anchors-'));
    const anchors = join(dir, 'siem-export.ndjson');
    writeFileSync(anchors, `${JSON.stringify({ level: 'info', message: 'audit checkpoint', ...anchor })}\nnot json\n`);
    const owner = createDatabase({ connectionString: scratch.superuserUrl, logger });
    try {
      await rewriteFrom(owner, 1);
      const plain = await cli(['verify']);
      const anchored = await cli(['verify', '--anchors', anchors]);

      expect(plain).toMatchObject({ code: 0, report: { status: 'intact' } });
      expect(anchored.code).toBe(1);
      expect(anchored.report).toMatchObject({
        status: 'diverged_from_anchor',
        anchors: { anchor: { kind: 'checkpoint', seq: anchor.seq, hash: anchor.head_hash, line: 1 } },
      });
    } finally {
      await owner.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the chain watch', () => {
  const fullVerifications = async () =>
    Number(
      (await sql<{ n: string }>`select count(*) as n from audit_full_verifications`.execute(gateway.db)).rows[0]?.n,
    );

  test('when it starts, then nothing reads as broken before the first verify, and the first verify is a recorded full walk', async () => {
    const before = await gateway.metrics.registry.metrics();
    const recorded = await fullVerifications();
    const watch = watchChain(gateway.db, {
      logger,
      gauges: chainGauges(gateway.metrics),
      verifyEveryMs: 60_000,
      anchorEveryMs: 60_000,
      fullEveryMs: 3_600_000,
    });
    try {
      const verified = async () =>
        /^audit_chain_last_verified_timestamp_seconds\{check="full"\} \d{10}/m.test(
          await gateway.metrics.registry.metrics(),
        );
      await eventually(verified, { what: 'a verification', timeoutMs: 10_000 });
    } finally {
      await watch.stop();
    }

    expect(before).not.toMatch(/^audit_chain_intact\{/m); // not yet verified: no series, not a 0
    expect(await gateway.metrics.registry.metrics()).toMatch(/^audit_chain_intact\{check="full"\} 1$/m);
    expect(await fullVerifications()).toBe(recorded + 1);
  });

  test.each([
    ['a full verify is due every round', 1, 'full'],
    ['a full verify was recorded within the interval', 3_600_000, 'incremental'],
  ] as const)('when %s (full interval %d ms), then later rounds walk %s', async (_label, fullEveryMs, later) => {
    const rounds: string[] = [];
    const watch = watchChain(gateway.db, {
      logger,
      gauges: { verified: (_intact, _at, check) => rounds.push(check) },
      verifyEveryMs: 20,
      anchorEveryMs: 60_000,
      fullEveryMs,
    });
    try {
      await eventually(() => rounds.length >= 3, { what: '3 rounds', timeoutMs: 10_000 });
    } finally {
      await watch.stop();
    }

    expect(rounds.slice(0, 3)).toEqual(['full', later, later]);
  });

  test('when a replica that leads the stream starts, then its watch verifies at once and never reports 0', async () => {
    await resetCursor(); // records to stream, so the leader holds its connection while the watch runs
    const leader = await openGateway({
      databaseUrl: scratch.gatewayUrl,
      auditStream: { url: `${sink.url}/leader`, secret: SECRET },
    });
    const seen: string[] = [];
    leader.gateway.startJobs();
    try {
      const intact = async () => {
        const text = await leader.gateway.metrics.registry.metrics();
        seen.push(...(text.match(/^audit_chain_intact\{.*$/gm) ?? []));
        return /^audit_chain_intact\{check="full"\} 1$/m.test(text) && acknowledged('/hec/leader').length > 0;
      };
      await eventually(intact, { what: 'verified while streaming', timeoutMs: 20_000 });
    } finally {
      await leader.close();
    }

    expect(seen.filter((line) => line.endsWith(' 0'))).toEqual([]);
  }, 30_000);
});

async function cli(args: string[]): Promise<{ code: number; report: Record<string, unknown> }> {
  const { code, output } = await captured(runAuditCli, args, { DATABASE_URL: scratch.auditorUrl });
  return { code, report: JSON.parse(output) };
}
