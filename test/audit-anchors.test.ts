import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Kysely, sql } from 'kysely';
import { checkpointOf } from '../src/audit/anchors.ts';
import { recordsAfter, type StreamRecord } from '../src/audit/stream/records.ts';
import { runAuditCli } from '../src/cli/audit.ts';
import { createDatabase, type Database } from '../src/database.ts';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { createLogger } from '../src/logger.ts';
import { admin, type Gateway, MASTER_KEY, startGateway } from './support/harness.ts';
import { rewriteFrom } from './support/tamper.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { captured } from './support/cli.ts';

/**
 * `npm run audit -- verify [--anchors FILE]` against what an owner can do to the tables and the chain's
 * functions, and against the files a reviewer actually exports from a SIEM. Each chain is a database of its
 * own, built by real creates through the gateway.
 */
const GENESIS = createHash('sha256').update('vonage-secrets-gateway audit chain v1').digest();
const logger = createLogger('error');
const dir = mkdtempSync(join(tmpdir(), 'anchors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Chain {
  scratch: ScratchDatabase;
  gateway: Gateway;
  /** The stream's records as the SIEM received them. */
  streamed: StreamRecord[];
  owner: Kysely<Database>;
  close(): Promise<void>;
}

async function chainOf(label: string, creates = 3): Promise<Chain> {
  const scratch = await createScratchDatabase(label);
  const gateway = await startGateway({ databaseUrl: scratch.gatewayUrl });
  for (let i = 0; i < creates; i += 1) {
    await gateway.http.post(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).send({ secret: exampleSecret() });
    await gateway.http.post(`/v1/accounts/${MASTER_KEY}/secrets`).set(admin).send({ secret: 'short' });
  }
  const streamed = await recordsAfter(gateway.db, { seq: 0n, hash: GENESIS }, 10_000);
  const owner = createDatabase({ connectionString: scratch.ownerUrl, logger });
  const close = async () => {
    await Promise.all([owner.destroy(), gateway.close()]);
    await scratch.drop();
  };
  return { scratch, gateway, streamed, owner, close };
}

async function verify(chain: Chain, anchors?: string) {
  const args = anchors === undefined ? ['verify'] : ['verify', '--anchors', fileOf(anchors)];
  const { code, output } = await captured(runAuditCli, args, { DATABASE_URL: chain.scratch.auditorUrl });
  return { code, report: JSON.parse(output) };
}

let files = 0;
function fileOf(content: string): string {
  const path = join(dir, `anchors-${++files}.ndjson`);
  writeFileSync(path, content);
  return path;
}

const lines = (values: unknown[]) => `${values.map((value) => JSON.stringify(value)).join('\n')}\n`;
const webhookBodies = (records: StreamRecord[]) =>
  lines([{ records: records.slice(0, 4) }, { records: records.slice(4) }]);
const hecEvents = (records: StreamRecord[]) =>
  lines(records.map((event) => ({ time: 1, sourcetype: 'vonage:gateway:audit', event })));
const splunkExport = (records: StreamRecord[]) =>
  lines(records.map((event) => ({ preview: false, result: { _raw: JSON.stringify(event), _time: '1' } })));

describe('npm run audit -- verify --anchors FILE: the files a reviewer hands it', () => {
  let chain: Chain;
  beforeAll(async () => {
    chain = await chainOf('anchor_files');
  });
  afterAll(() => chain.close());

  test.each([
    ['the stream as webhook bodies', webhookBodies],
    ['the stream as Splunk HEC events', hecEvents],
    ["Splunk's JSON search export", splunkExport],
  ])('when the file is %s, then every streamed record is checked as an anchor', async (_label, format) => {
    const { code, report } = await verify(chain, format(chain.streamed));

    expect(code).toBe(0);
    expect(report).toMatchObject({
      status: 'intact',
      anchors: { status: 'consistent', anchors_checked: chain.streamed.length, records: chain.streamed.length },
      unreadable_lines: [],
    });
  });

  test.each([
    ['empty', ''],
    ['the CSV export', 'id,occurred_at,action\n1,2026-12-01T00:00:00Z,secret.create\n'],
    ['log lines with no checkpoint', lines([{ level: 'info', message: 'listening' }])],
  ])(
    'when the file is %s, then verify fails with its own exit code and says nothing was compared',
    async (_label, content) => {
      const { code, report } = await verify(chain, content);

      expect(code).toBe(3);
      expect(report).toMatchObject({
        status: 'no_anchors',
        message: expect.stringMatching(/nothing outside the database/),
      });
    },
  );

  test('when some lines are not JSON, then they are reported by number and the rest still count', async () => {
    const checkpoint = await checkpointOf(chain.gateway.db);
    const content = `2026-12-01 log prefix\n${JSON.stringify({ message: 'audit checkpoint', ...checkpoint })}\n{"result":{"_raw":"{broken"}}\n`;

    const { code, report } = await verify(chain, content);

    expect(code).toBe(0);
    expect(report).toMatchObject({ anchors: { anchors_checked: 1, checkpoints: 1 }, unreadable_lines: [1, 3] });
  });

  test('when a checkpoint lies beyond the chain head, then the chain is reported truncated, not skipped', async () => {
    const head = await checkpointOf(chain.gateway.db);
    const content = lines([{ ...head, seq: head.seq + 3 }]);

    const { code, report } = await verify(chain, content);

    expect(code).toBe(1);
    expect(report).toMatchObject({
      status: 'truncated',
      anchors: { status: 'truncated', anchor: { seq: head.seq + 3 }, chain_head_seq: head.seq },
    });
  });
});

describe('npm run audit -- verify against the migration owner', () => {
  test('when the owner edits a record and swaps audit_event_canonical to return its old text, then verify and --anchors both say broken', async () => {
    const chain = await chainOf('function_swap');
    try {
      const { rows } = await sql<{ id: string; canonical: string }>`
        select id::text as id, audit_event_canonical(e) as canonical from audit_events e where chain_seq = 1`.execute(
        chain.owner,
      );
      const saved = rows[0] as { id: string; canonical: string };
      await sql`alter table audit_events disable trigger user`.execute(chain.owner);
      await sql`update audit_events set actor_email = 'mallory@example.com' where chain_seq = 1`.execute(chain.owner);
      await sql`alter table audit_events enable trigger user`.execute(chain.owner);
      await sql
        .raw(`create or replace function audit_event_canonical(e audit_events) returns text language sql stable as $$
        select case when e.id = ${saved.id} then '${saved.canonical.replaceAll("'", "''")}' else
          (jsonb_build_array('audit_events', e.chain_seq, e.id,
            to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.request_id, e.action, e.actor_email,
            e.actor_user, e.actor_groups, e.api_key, e.secret_id, e.client_ip, e.user_agent)
          || case when e.rotation_id is null then '[]'::jsonb else jsonb_build_array(e.rotation_id) end)::text end
      $$`)
        .execute(chain.owner);

      const plain = await verify(chain);
      const anchored = await verify(chain, webhookBodies(chain.streamed));

      expect(plain.code).toBe(1);
      expect(plain.report).toMatchObject({ status: 'broken', reason: 'hash_mismatch', at: { seq: '1' } });
      expect(anchored.code).toBe(1);
      expect(anchored.report).toMatchObject({ status: 'broken', chain: { reason: 'hash_mismatch' } });
    } finally {
      await chain.close();
    }
  });

  test('when the owner only replaces a chain function with a body of its own, then verify reports canonical_function_changed', async () => {
    const chain = await chainOf('function_changed', 1);
    try {
      await sql`create or replace function audit_outcome_canonical(o audit_outcomes) returns text language sql stable as $$
        select jsonb_build_array('audit_outcomes', o.chain_seq, o.event_id, to_char(o.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          o.outcome, o.status, o.upstream_status, o.created_secret_id, o.api_key)::text -- same text, another body
      $$`.execute(chain.owner);

      const { code, report } = await verify(chain);

      expect(code).toBe(1);
      expect(report).toMatchObject({
        status: 'broken',
        reason: 'canonical_function_changed',
        at: { table: 'pg_proc', id: 'audit_outcome_canonical' },
      });
    } finally {
      await chain.close();
    }
  });

  test('when the owner rewrites a record after the last checkpoint, then checkpoints alone miss it and the streamed records catch it', async () => {
    const chain = await chainOf('after_checkpoint');
    try {
      const checkpoint = { kind: 'checkpoint', seq: 2, head_hash: chain.streamed[1]?.hash, records: 2 };
      await rewriteFrom(chain.owner, 5);

      const checkpointsOnly = await verify(chain, lines([checkpoint]));
      const withRecords = await verify(chain, lines([checkpoint]) + webhookBodies(chain.streamed));

      expect(checkpointsOnly).toMatchObject({ code: 0, report: { status: 'intact' } });
      expect(withRecords.code).toBe(1);
      expect(withRecords.report).toMatchObject({
        status: 'diverged_from_anchor',
        anchors: { anchor: { kind: 'record', seq: 5, hash: chain.streamed[4]?.hash } },
      });
    } finally {
      await chain.close();
    }
  });
});
