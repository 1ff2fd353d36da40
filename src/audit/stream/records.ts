import { type Kysely, sql } from 'kysely';
import type { Database } from '../../database.ts';

/**
 * Audit records in chain order, as the stream sends them: the chain position and hash, the previous
 * hash (so a receiver can check the links it holds), and the record's own fields.
 */
export interface StreamRecord {
  seq: number;
  kind: 'event' | 'outcome';
  hash: string;
  prev_hash: string;
  [field: string]: unknown;
}

export interface Position {
  seq: bigint;
  hash: Buffer;
}

export async function recordsAfter(db: Kysely<Database>, after: Position, limit: number): Promise<StreamRecord[]> {
  const { rows } = await sql<{ seq: string; hash: Buffer; kind: 'event' | 'outcome'; fields: Record<string, unknown> }>`
    select chain_seq::text as seq, chain_hash as hash, kind, fields from (
      select chain_seq, chain_hash, 'event' as kind, to_jsonb(e) - 'chain_seq' - 'chain_hash' as fields from audit_events e
      union all
      select chain_seq, chain_hash, 'outcome', to_jsonb(o) - 'chain_seq' - 'chain_hash' from audit_outcomes o
    ) r where chain_seq > ${after.seq.toString()}::bigint order by chain_seq limit ${limit}`.execute(db);
  let previous = after.hash.toString('hex');
  return rows.map((row) => {
    const hash = Buffer.from(row.hash).toString('hex');
    const record = { ...row.fields, seq: Number(row.seq), kind: row.kind, hash, prev_hash: previous };
    previous = hash;
    return record;
  });
}

export async function cursorOf(db: Kysely<Database>): Promise<Position> {
  const row = await db.selectFrom('audit_stream_cursor').select(['seq', 'hash']).executeTakeFirstOrThrow();
  return { seq: BigInt(row.seq), hash: Buffer.from(row.hash) };
}

export async function moveCursor(db: Kysely<Database>, to: Position): Promise<void> {
  await db
    .updateTable('audit_stream_cursor')
    .set({ seq: to.seq.toString(), hash: to.hash, updated_at: new Date() })
    .where('id', '=', 1)
    .execute();
}
