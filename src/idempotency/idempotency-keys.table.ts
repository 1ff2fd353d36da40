import type { ColumnType } from 'kysely';

/** One Idempotency-Key per caller: the request's HMAC fingerprint and, once done, the answer to replay. */
export interface IdempotencyKeysTable {
  caller: string;
  key: string;
  fingerprint: Buffer;
  state: 'in_flight' | 'done';
  response_status: number | null;
  response_body: ColumnType<unknown, string | null, string | null>;
  response_location: string | null;
  created_at: ColumnType<Date, never, never>;
  locked_until: ColumnType<Date, never, never>;
  expires_at: ColumnType<Date, never, never>;
}
