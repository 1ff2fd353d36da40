import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';

/**
 * Idempotency keys for creates: the same key, caller and request within 24 h replays the first
 * answer; the same key with another request is 422; the same key while the first is in flight is 409.
 * An in-flight claim that outlives any request's deadline is treated as abandoned (its process died).
 */

const TTL = '24 hours';
const IN_FLIGHT_LEASE = '2 minutes';

export interface StoredResponse {
  status: number;
  body: unknown;
  location: string | null;
}

export type Claim = { kind: 'claimed' } | { kind: 'replay'; response: StoredResponse };

/** HMAC under the service's own key: equal requests match, and nothing stored reveals the secret. */
export function fingerprint(hmacKey: string, parts: unknown[]): Buffer {
  return createHmac('sha256', hmacKey).update(JSON.stringify(parts)).digest();
}

export async function claimKey(db: Kysely<Database>, caller: string, key: string, print: Buffer): Promise<Claim> {
  const claimed = await sql`
    insert into idempotency_keys (caller, key, fingerprint, state, locked_until, expires_at)
    values (${caller}, ${key}, ${print}, 'in_flight', now() + ${IN_FLIGHT_LEASE}::interval, now() + ${TTL}::interval)
    on conflict (caller, key) do update set
      fingerprint = excluded.fingerprint, state = 'in_flight', response_status = null, response_body = null,
      response_location = null, created_at = now(), locked_until = excluded.locked_until,
      expires_at = excluded.expires_at
    where idempotency_keys.expires_at <= now()
       or (idempotency_keys.state = 'in_flight' and idempotency_keys.locked_until <= now()
           and idempotency_keys.fingerprint = excluded.fingerprint)
    returning key`.execute(db);
  if (claimed.rows.length > 0) return { kind: 'claimed' };
  const existing = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('caller', '=', caller)
    .where('key', '=', key)
    .executeTakeFirst();
  if (!existing) return claimKey(db, caller, key, print); // expired and removed between the two statements
  if (existing.fingerprint.length !== print.length || !timingSafeEqual(existing.fingerprint, print)) {
    throw new AppError('idempotency-mismatch', 422, 'This Idempotency-Key was already used with a different request.');
  }
  if (existing.state === 'in_flight' || existing.response_status === null) {
    throw new AppError(
      'idempotency-in-flight',
      409,
      'A request with this Idempotency-Key is still being processed; retry later.',
      { retryAfterSeconds: 1 },
    );
  }
  return {
    kind: 'replay',
    response: { status: existing.response_status, body: existing.response_body, location: existing.response_location },
  };
}

export async function completeKey(
  db: Kysely<Database>,
  caller: string,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({
      state: 'done',
      response_status: response.status,
      response_body: JSON.stringify(response.body),
      response_location: response.location,
    })
    .where('caller', '=', caller)
    .where('key', '=', key)
    .execute();
}

/** After a failure whose result is unknown or transient, the key is let go so the caller may retry. */
export async function releaseKey(db: Kysely<Database>, caller: string, key: string): Promise<void> {
  await db
    .deleteFrom('idempotency_keys')
    .where('caller', '=', caller)
    .where('key', '=', key)
    .where('state', '=', 'in_flight')
    .execute();
}

/** Expired keys are only ever overwritten on reuse, so a periodic sweep keeps the table from growing. */
export async function sweepExpiredKeys(db: Kysely<Database>): Promise<number> {
  const result = await db.deleteFrom('idempotency_keys').where(sql<boolean>`expires_at < now()`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
