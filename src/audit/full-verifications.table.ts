import type { ColumnType, Generated } from 'kysely';

/** One scheduled full verify of the chain and its result (migration 0012). pg returns bigint as a string. */
export interface FullVerificationsTable {
  id: Generated<string>;
  status: 'intact' | 'broken';
  records: string;
  head_hash: string | null;
  reason: string | null;
  verified_at: ColumnType<Date, never, never>;
}
