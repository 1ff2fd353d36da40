import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import { eventCanonical, outcomeCanonical, type RawEvent, type RawOutcome } from './canonical.ts';

/**
 * Walks the audit chain in insertion order and recomputes every link, in a repeatable-read snapshot
 * and in batches, so a chain of any length verifies in bounded memory. The canonical text is computed
 * here from each record's raw columns (canonical.ts), never taken from the SQL functions the insert
 * trigger uses: their owner could replace them. Those functions' definitions are checked too.
 */

const GENESIS = createHash('sha256').update('vonage-secrets-gateway audit chain v1', 'utf8').digest();
const BATCH = 2_000;

export type ChainReport =
  | {
      status: 'intact';
      /** Events and outcomes in the chain. */
      records: number;
      /** Of those, events: one per attempt. */
      events: number;
      /** Records this call recomputed (all of them on a full walk, the new ones on an incremental one). */
      checked_now: number;
      head_hash: string;
      mode: 'full' | 'incremental';
    }
  | {
      status: 'broken';
      reason: 'hash_mismatch' | 'sequence_gap' | 'unlinked_record' | 'head_mismatch' | 'canonical_function_changed';
      at: { table: string; id: string; seq: string | null };
      expected_hash: string | null;
      found_hash: string | null;
      records_checked: number;
    };

interface Link {
  table: string;
  id: string;
  chain_seq: string | null;
  chain_hash: Buffer | null;
}

/** A link with every column its canonical text is made of; the other table's columns are null. */
type RawLink = Link & RawEvent & RawOutcome & { table: 'audit_events' | 'audit_outcomes' };

const linksAfter = (trx: Kysely<Database>, seq: string) =>
  sql<RawLink>`
  select "table", id, chain_seq::text as chain_seq, chain_hash, at_micros, id as event_id, request_id, action,
    actor_email, actor_user, actor_groups, api_key, secret_id, client_ip, user_agent, rotation_id, outcome, status,
    upstream_status, created_secret_id
  from (
    select 'audit_events' as "table", id::text as id, chain_seq, chain_hash,
      (extract(epoch from occurred_at) * 1000000)::bigint::text as at_micros, request_id, action, actor_email,
      actor_user, actor_groups, api_key, secret_id, client_ip, user_agent, rotation_id::text as rotation_id,
      null::text as outcome, null::integer as status, null::integer as upstream_status, null::text as created_secret_id
      from audit_events
    union all
    select 'audit_outcomes', event_id::text, chain_seq, chain_hash,
      (extract(epoch from recorded_at) * 1000000)::bigint::text, null, null, null, null, null::text[], api_key,
      null, null::inet, null, null, outcome, status, upstream_status, created_secret_id
      from audit_outcomes
  ) links where chain_seq > ${seq}::bigint order by links.chain_seq limit ${BATCH}`.execute(trx);

const canonicalOf = (link: RawLink) => (link.table === 'audit_events' ? eventCanonical(link) : outcomeCanonical(link));

/** Every link's identity, without its canonical text (which only a walk needs). */
const LINKS = sql`
  select 'audit_events' as "table", id::text as id, chain_seq, chain_hash from audit_events
  union all
  select 'audit_outcomes', event_id::text, chain_seq, chain_hash from audit_outcomes`;

const unlinked = (trx: Kysely<Database>) =>
  sql<Link>`
  select "table", id, chain_seq::text, chain_hash from (${LINKS}) links
  where chain_seq is null or chain_hash is null limit 1`.execute(trx);

const hex = (bytes: Buffer | null) => (bytes ? bytes.toString('hex') : null);
/** pg returns bytea as a Buffer, PGlite (npm run dev) as a plain Uint8Array. */
const asBuffer = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes));
const linkHash = (previous: Buffer, canonical: string) =>
  createHash('sha256').update(previous).update(canonical, 'utf8').digest();

/** A chain position and the hash that ends there. */
export interface Position {
  seq: bigint;
  hash: Buffer;
}

export interface Checkpoint extends Position {
  /** Events up to `seq`. */
  events: number;
}

const START: Checkpoint = { seq: 0n, hash: GENESIS, events: 0 };
/** Links hashed between two turns of the event loop, so a long walk never stalls readiness or requests. */
const YIELD_EVERY = 250;

const linkAt = (trx: Kysely<Database>, seq: bigint) =>
  sql<Link>`
  select "table", id, chain_seq::text, chain_hash from (${LINKS}) links
  where chain_seq = ${seq.toString()}::bigint`.execute(trx);

/** Where an intact report leaves the walk, to start the next incremental one from. */
export const checkpointAfter = (report: ChainReport): Checkpoint | undefined =>
  report.status === 'intact'
    ? { seq: BigInt(report.records), hash: Buffer.from(report.head_hash, 'hex'), events: report.events }
    : undefined;

/** Where the chain ends: the position and hash the insert trigger will link the next record to. */
export async function chainHead(db: Kysely<Database>): Promise<Position> {
  const row = await db.selectFrom('audit_chain_head').select(['seq', 'hash']).executeTakeFirstOrThrow();
  return { seq: BigInt(row.seq), hash: asBuffer(row.hash) as Buffer };
}

/** The checkpoint's own link must still hold the hash it had, or everything after it is suspect. */
async function checkpointStillHolds(trx: Kysely<Database>, from: Checkpoint): Promise<ChainReport | null> {
  if (from.seq === 0n) return null;
  const link = (await linkAt(trx, from.seq)).rows[0];
  const found = asBuffer(link?.chain_hash ?? null);
  if (link && found?.equals(from.hash)) return null;
  const at = link ?? { table: 'audit_events', id: '', chain_seq: from.seq.toString(), chain_hash: null };
  return broken('hash_mismatch', { ...at, chain_hash: found }, from.hash, Number(from.seq));
}

/**
 * The SHA-256 of each chain function's body (`pg_proc.prosrc`) as the migrations define it. A body that
 * differs means someone replaced a function the insert trigger links records with.
 */
export const CHAIN_FUNCTIONS: Readonly<Record<string, string>> = {
  audit_chain_link: '3689e527e236d22daa2e0639485100041fa626fb79b2158cd48467a4ebcba5af',
  audit_event_canonical: '68c0414b81bd38cc5ceda2681e4063d38e4ba5b2b1445cbdcd57663a39f37c13',
  audit_outcome_canonical: '577a5a514cf7a911fed09ff32bda7276cda37e674e3cafdb9229fb23d5e2e88a',
};

async function changedFunction(trx: Kysely<Database>, checked: number): Promise<ChainReport | null> {
  const { rows } = await sql<{ proname: string; prosrc: string }>`
    select proname, prosrc from pg_catalog.pg_proc where proname in (${sql.join(Object.keys(CHAIN_FUNCTIONS))})`.execute(
    trx,
  );
  for (const [name, shipped] of Object.entries(CHAIN_FUNCTIONS)) {
    const bodies = rows.filter((row) => row.proname === name);
    const found =
      bodies.length === 1
        ? createHash('sha256')
            .update(bodies[0]?.prosrc ?? '')
            .digest('hex')
        : null;
    if (found === shipped) continue;
    return {
      status: 'broken',
      reason: 'canonical_function_changed',
      at: { table: 'pg_proc', id: name, seq: null },
      expected_hash: shipped,
      found_hash: found,
      records_checked: checked,
    };
  }
  return null;
}

async function walk(trx: Kysely<Database>, from: Checkpoint): Promise<ChainReport> {
  const orphan = (await unlinked(trx)).rows[0];
  if (orphan) return broken('unlinked_record', orphan, null, 0);
  const moved = await checkpointStillHolds(trx, from);
  if (moved) return moved;
  let previous: Buffer = from.hash;
  let seq = from.seq;
  let events = from.events;
  for (;;) {
    const { rows } = await linksAfter(trx, seq.toString());
    for (const [index, row] of rows.entries()) {
      if (index % YIELD_EVERY === YIELD_EVERY - 1) await nextTurn();
      const link = { ...row, chain_hash: asBuffer(row.chain_hash) };
      const expected = linkHash(previous, canonicalOf(link));
      if (BigInt(link.chain_seq ?? -1) !== seq + 1n) return broken('sequence_gap', link, expected, Number(seq));
      if (!link.chain_hash || !expected.equals(link.chain_hash))
        return broken('hash_mismatch', link, expected, Number(seq));
      previous = link.chain_hash;
      seq += 1n;
      if (link.table === 'audit_events') events += 1;
    }
    if (rows.length < BATCH) break;
  }
  const head = await chainHead(trx);
  const headHash = head.hash;
  const swapped = await changedFunction(trx, Number(seq));
  if (swapped) return swapped;
  if (head.seq !== seq || !headHash.equals(previous)) {
    return {
      status: 'broken',
      reason: 'head_mismatch',
      at: { table: 'audit_chain_head', id: '1', seq: String(head.seq) },
      expected_hash: hex(headHash),
      found_hash: hex(previous),
      records_checked: Number(seq),
    };
  }
  return {
    status: 'intact',
    records: Number(seq),
    events,
    checked_now: Number(seq - from.seq),
    head_hash: previous.toString('hex'),
    mode: from.seq === 0n ? 'full' : 'incremental',
  };
}

function broken(
  reason: 'hash_mismatch' | 'sequence_gap' | 'unlinked_record',
  link: Link,
  expected: Buffer | null,
  checked: number,
): ChainReport {
  return {
    status: 'broken',
    reason,
    at: { table: link.table, id: link.id, seq: link.chain_seq },
    expected_hash: hex(expected),
    found_hash: hex(link.chain_hash),
    records_checked: checked,
  };
}

/**
 * In its own repeatable-read snapshot, or inside the caller's transaction when given one. From a
 * checkpoint, only the records after it are recomputed (and the checkpoint's own link re-read).
 */
export async function verifyChain(db: Kysely<Database>, from: Checkpoint = START): Promise<ChainReport> {
  if (db.isTransaction) return walk(db, from);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute((trx) => walk(trx, from));
}
