import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';

const MAX_BLOCK = 50;

/** What a replica holds of one caller's shared budget for the current window. */
export interface Lease {
  remaining: number;
  /** The size of the last block granted, to tell when the next one should be asked for. */
  granted: number;
  sharedHits: number;
  resetAt: Date;
  /** Sized to the requests waiting for it (a first lease, or a burst), not read ahead: none is read behind it. */
  exact: boolean;
}

/** A quarter of what is left of the shared budget, so several replicas can each hold some of it. */
export const blockFor = (limit: number, sharedHits: number) =>
  Math.max(1, Math.min(MAX_BLOCK, Math.floor((limit - sharedHits) / 4)));

export async function leaseShared(db: Kysely<Database>, key: string, want: number, limit: number, windowMs: number) {
  const { rows } = await sql<{ granted: number; hits: number; reset_at: Date }>`
    select granted, hits, reset_at from rate_limit_lease(${key}, ${want}, ${limit}, ${windowMs})`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('rate-limit lease returned no row');
  return { granted: row.granted, hits: row.hits, resetAt: new Date(row.reset_at) };
}

/**
 * The next block to ask for. A replica's first lease of a window covers exactly the requests waiting for
 * it, and so does any lease while more wait than a read-ahead block would hold: a burst that arrives at once
 * leaves no unused lease on one replica that another would lack. Only a lone request after the first lease,
 * far from the limit, reads ahead, as steady traffic needs; `waiting` 0 asks for a read-ahead block.
 */
export function nextBlock(limit: number, current: Lease | undefined, waiting: number) {
  if (!current) return { want: Math.max(1, waiting), exact: true };
  const readAhead = blockFor(limit, current.sharedHits);
  if (waiting === 0) return { want: readAhead, exact: false };
  const need = Math.max(1, waiting - current.remaining);
  const far = current.sharedHits + readAhead <= limit / 2;
  return need >= readAhead || !far ? { want: need, exact: true } : { want: readAhead, exact: false };
}
