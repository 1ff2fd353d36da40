import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { ChainReport } from './chain.ts';

/** The scheduled full verifies of the chain: when the whole chain was last walked, and what was found. */
export interface FullVerification {
  status: 'intact' | 'broken';
  records: number;
  headHash: string | null;
  reason: string | null;
  verifiedAt: Date;
}

export async function recordFullVerification(db: Kysely<Database>, report: ChainReport): Promise<void> {
  await db
    .insertInto('audit_full_verifications')
    .values(
      report.status === 'intact'
        ? { status: 'intact', records: String(report.records), head_hash: report.head_hash, reason: null }
        : { status: 'broken', records: String(report.records_checked), head_hash: null, reason: report.reason },
    )
    .execute();
}

export async function lastFullVerification(db: Kysely<Database>): Promise<FullVerification | null> {
  const row = await db
    .selectFrom('audit_full_verifications')
    .selectAll()
    .orderBy('verified_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row
    ? {
        status: row.status,
        records: Number(row.records),
        headHash: row.head_hash,
        reason: row.reason,
        verifiedAt: new Date(row.verified_at),
      }
    : null;
}
