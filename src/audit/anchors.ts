import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { chainHead, storedHashAt } from './chain.ts';

/**
 * Checkpoints anchor the chain outside the database (CloudTrail's digest idea): the head's position and
 * hash, sent to the SIEM and written to the log. Someone who can rewrite the tables (the migration owner,
 * a superuser) can make the chain consistent again, but not the copies the SIEM and the log pipeline
 * hold; `verify --anchors` compares them with the chain and reports the first that disagrees.
 */
export interface Checkpoint {
  kind: 'checkpoint';
  seq: number;
  head_hash: string;
  records: number;
}

export type AnchorReport =
  | { status: 'consistent'; anchors_checked: number }
  | { status: 'diverged_from_anchor'; checkpoint: Checkpoint; found_hash: string | null; anchors_checked: number };

export async function checkpointOf(db: Kysely<Database>): Promise<Checkpoint> {
  const head = await chainHead(db);
  return { kind: 'checkpoint', seq: Number(head.seq), head_hash: head.hash.toString('hex'), records: Number(head.seq) };
}

/** Checkpoints from an NDJSON export of the SIEM or the logs: stream bodies, HEC events or log lines. */
export function parseAnchors(text: string): Checkpoint[] {
  const found: Checkpoint[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach(visit);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    if (object.kind === 'checkpoint' && typeof object.seq === 'number' && typeof object.head_hash === 'string') {
      found.push({
        kind: 'checkpoint',
        seq: object.seq,
        head_hash: object.head_hash,
        records: Number(object.records ?? object.seq),
      });
      return;
    }
    for (const key of ['records', 'event', 'checkpoint']) if (key in object) visit(object[key]);
  };
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      visit(JSON.parse(line));
    } catch {
      // a line that is not JSON (a log prefix, a blank) holds no checkpoint
    }
  }
  return found.sort((a, b) => a.seq - b.seq);
}

export async function verifyAgainstAnchors(db: Kysely<Database>, anchors: Checkpoint[]): Promise<AnchorReport> {
  let checked = 0;
  for (const checkpoint of anchors) {
    if (checkpoint.seq === 0) continue; // the genesis anchors nothing
    const found = await storedHashAt(db, BigInt(checkpoint.seq));
    if (found !== checkpoint.head_hash)
      return { status: 'diverged_from_anchor', checkpoint, found_hash: found, anchors_checked: checked };
    checked += 1;
  }
  return { status: 'consistent', anchors_checked: checked };
}
