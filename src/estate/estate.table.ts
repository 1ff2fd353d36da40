import type { ColumnType } from 'kysely';

/** An account as the last discovery (or the static list) saw it (migration 0013). */
export interface EstateAccountsTable {
  api_key: string;
  name: string | null;
  suspended: boolean;
  is_primary: boolean;
  created_at: Date | null;
  seen_at: ColumnType<Date, Date | undefined, Date>;
  /** When its secrets were last listed at Vonage; null: never, so nothing is known of them. */
  secrets_listed_at: Date | null;
}

/** A secret's id and date as Vonage listed it; never a value. */
export interface EstateSecretsTable {
  api_key: string;
  secret_id: string;
  created_at: Date;
}

/** One row: where the account list came from last time, and when. */
export interface EstateDiscoveryTable {
  id: ColumnType<number, number | undefined, never>;
  source: 'vonage' | 'static';
  refreshed_at: ColumnType<Date, Date | undefined, Date>;
  note: string | null;
}
