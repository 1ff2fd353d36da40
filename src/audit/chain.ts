import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';

/**
 * Walks the audit chain in insertion order and recomputes every link, in a repeatable-read snapshot
 * and in batches, so a chain of any length verifies in bounded memory. The canonical text comes from
 * the same SQL functions the insert trigger uses (db/migrations/*_audit_chain.ts).
 */

const GENESIS = createHash('sha256').update('vonage-secrets-gateway audit chain v1', 'utf8').digest();
const BATCH = 2_000;

export type ChainReport =
  | { status: 'intact'; records: number; head_hash: string; mode: 'full' | 'incremental' }
  | {
      status: 'broken';
      reason: 'hash_mismatch' | 'sequence_gap' | 'unlinked_record' | 'head_mismatch';
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
  canonical: string;
}

const linksAfter = (trx: Kysely<Database>, seq: string) =>
  sql<Link>`
  select "table", id, chain_seq::text as chain_seq, chain_hash, canonical from (
    select 'audit_events' as "table", id::text as id, chain_seq, chain_hash, audit_event_canonical(e) as canonical
      from audit_events e
    union all
    select 'audit_outcomes', event_id::text, chain_seq, chain_hash, audit_outcome_canonical(o)
      from audit_outcomes o
  ) links where chain_seq > ${seq}::bigint order by links.chain_seq limit ${BATCH}`.execute(trx);

/** Every link's identity, without its canonical text (which only a walk needs). */
const LINKS = sql`
  select 'audit_events' as "table", id::text as id, chain_seq, chain_hash, '' as canonical from audit_events
  union all
  select 'audit_outcomes', event_id::text, chain_seq, chain_hash, '' from audit_outcomes`;

const unlinked = (trx: Kysely<Database>) =>
  sql<Link>`
  select "table", id, chain_seq::text, chain_hash, canonical from (${LINKS}) links
  where chain_seq is null or chain_hash is null limit 1`.execute(trx);

const hex = (bytes: Buffer | null) => (bytes ? bytes.toString('hex') : null);
/** pg returns bytea as a Buffer, PGlite (npm run dev) as a plain Uint8Array. */
const asBuffer = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes));
const linkHash = (previous: Buffer, canonical: string) =>
  createHash('sha256').update(previous).update(canonical, 'utf8').digest();

/** A position already verified: the chain up to `seq` was intact and ended in `hash`. */
export interface Checkpoint {
  seq: bigint;
  hash: Buffer;
}

const START: Checkpoint = { seq: 0n, hash: GENESIS };

const linkAt = (trx: Kysely<Database>, seq: bigint) =>
  sql<Link>`
  select "table", id, chain_seq::text, chain_hash, canonical from (${LINKS}) links
  where chain_seq = ${seq.toString()}::bigint`.execute(trx);

/** Where the chain ends: the position and hash the insert trigger will link the next record to. */
export async function chainHead(db: Kysely<Database>): Promise<Checkpoint> {
  const row = await db.selectFrom('audit_chain_head').select(['seq', 'hash']).executeTakeFirstOrThrow();
  return { seq: BigInt(row.seq), hash: asBuffer(row.hash) as Buffer };
}

/** The hash stored at a chain position, as hex; null when no record holds that position. */
export async function storedHashAt(db: Kysely<Database>, seq: bigint): Promise<string | null> {
  return hex(asBuffer((await linkAt(db, seq)).rows[0]?.chain_hash ?? null));
}

/** The checkpoint's own link must still hold the hash it had, or everything after it is suspect. */
async function checkpointStillHolds(trx: Kysely<Database>, from: Checkpoint): Promise<ChainReport | null> {
  if (from.seq === 0n) return null;
  const link = (await linkAt(trx, from.seq)).rows[0];
  const found = asBuffer(link?.chain_hash ?? null);
  if (link && found?.equals(from.hash)) return null;
  const at = link ?? { table: 'audit_events', id: '', chain_seq: from.seq.toString(), chain_hash: null, canonical: '' };
  return broken('hash_mismatch', { ...at, chain_hash: found }, from.hash, Number(from.seq));
}

async function walk(trx: Kysely<Database>, from: Checkpoint): Promise<ChainReport> {
  const orphan = (await unlinked(trx)).rows[0];
  if (orphan) return broken('unlinked_record', orphan, null, 0);
  const moved = await checkpointStillHolds(trx, from);
  if (moved) return moved;
  let previous: Buffer = from.hash;
  let seq = from.seq;
  for (;;) {
    const { rows } = await linksAfter(trx, seq.toString());
    for (const row of rows) {
      const link = { ...row, chain_hash: asBuffer(row.chain_hash) };
      const expected = linkHash(previous, link.canonical);
      if (BigInt(link.chain_seq ?? -1) !== seq + 1n) return broken('sequence_gap', link, expected, Number(seq));
      if (!link.chain_hash || !expected.equals(link.chain_hash))
        return broken('hash_mismatch', link, expected, Number(seq));
      previous = link.chain_hash;
      seq += 1n;
    }
    if (rows.length < BATCH) break;
  }
  const head = await chainHead(trx);
  const headHash = head.hash;
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
