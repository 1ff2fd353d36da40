import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import type { Anchor } from './anchor-files.ts';
import { chainHead } from './chain.ts';

/**
 * Anchors hold the chain to copies outside the database (CloudTrail's digest idea). Checkpoints (the head's
 * position and hash) go to the SIEM and the log; every streamed record carries its own position and hash
 * too. Someone who can rewrite the tables (the migration owner, a superuser) can make the chain consistent
 * again, but not those copies: `verify --anchors` compares each with the chain. It never calls zero anchors
 * consistent, and a chain shorter than an anchor is `truncated`.
 */
export interface Checkpoint {
  kind: 'checkpoint';
  seq: number;
  head_hash: string;
  records: number;
}

export type AnchorReport =
  | { status: 'consistent'; anchors_checked: number; checkpoints: number; records: number; highest_seq: number }
  | { status: 'no_anchors'; anchors_checked: 0 }
  | { status: 'truncated'; anchor: Anchor; chain_head_seq: number; anchors_checked: number }
  | { status: 'diverged_from_anchor'; anchor: Anchor; found_hash: string | null; anchors_checked: number };

const BATCH = 5_000;

export async function checkpointOf(db: Kysely<Database>): Promise<Checkpoint> {
  const head = await chainHead(db);
  return { kind: 'checkpoint', seq: Number(head.seq), head_hash: head.hash.toString('hex'), records: Number(head.seq) };
}

/** The stored hash of each position asked for, as hex, in one round trip per batch. */
async function storedHashes(db: Kysely<Database>, seqs: number[]): Promise<Map<number, string>> {
  const { rows } = await sql<{ seq: string; hash: Uint8Array }>`
    select chain_seq::text as seq, chain_hash as hash from audit_events where chain_seq = any(${seqs}::bigint[])
    union all
    select chain_seq::text, chain_hash from audit_outcomes where chain_seq = any(${seqs}::bigint[])`.execute(db);
  return new Map(rows.map((row) => [Number(row.seq), Buffer.from(row.hash).toString('hex')]));
}

export async function verifyAgainstAnchors(db: Kysely<Database>, anchors: Anchor[]): Promise<AnchorReport> {
  const kept = anchors.filter((anchor) => anchor.seq > 0); // the genesis anchors nothing
  if (kept.length === 0) return { status: 'no_anchors', anchors_checked: 0 };
  const head = Number((await chainHead(db)).seq);
  let checked = 0;
  for (let start = 0; start < kept.length; start += BATCH) {
    const batch = kept.slice(start, start + BATCH);
    const stored = await storedHashes(db, [...new Set(batch.map((anchor) => anchor.seq))]);
    for (const anchor of batch) {
      if (anchor.seq > head) return { status: 'truncated', anchor, chain_head_seq: head, anchors_checked: checked };
      const found = stored.get(anchor.seq) ?? null;
      if (found !== anchor.hash)
        return { status: 'diverged_from_anchor', anchor, found_hash: found, anchors_checked: checked };
      checked += 1;
    }
  }
  const checkpoints = kept.filter((anchor) => anchor.kind === 'checkpoint').length;
  const highest = kept.at(-1)?.seq ?? 0;
  return {
    status: 'consistent',
    anchors_checked: checked,
    checkpoints,
    records: checked - checkpoints,
    highest_seq: highest,
  };
}
