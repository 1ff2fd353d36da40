import type { ColumnType } from 'kysely';

/** A workload that receives one account's credentials through delivery (migration 0014). Never a value. */
export interface ConsumersTable {
  id: string;
  api_key: string;
  /** Unique forever: the audit log names the consumer as `consumer:<name>`. */
  name: string;
  /** HMAC-SHA-256 of the delivery token under DELIVERY_TOKEN_HMAC_KEY, hex; the token itself is never stored. */
  token_hmac: string;
  token_expires_at: Date;
  /** Set: delivery is off for this consumer until a token is issued again. */
  token_revoked_at: Date | null;
  /** How often the consumer's ExternalSecret refreshes (its refreshInterval), as it declared. */
  interval_seconds: number;
  created_by: string;
  created_at: ColumnType<Date, never, never>;
  last_delivery_secret_id: string | null;
  last_delivery_at: Date | null;
  /** The secret the consumer said it held on its last call. */
  held_secret_id: string | null;
  held_reported_at: Date | null;
}
