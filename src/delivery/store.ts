import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import type { ConsumersTable } from './consumers.table.ts';

/** Consumers in Postgres: the repository shape, one row mapper. The token's HMAC never leaves this file. */
export interface Consumer {
  id: string;
  apiKey: string;
  name: string;
  tokenExpiresAt: Date;
  tokenRevokedAt: Date | null;
  intervalSeconds: number;
  createdBy: string;
  createdAt: Date;
  lastDelivery: { secretId: string; at: Date } | null;
  held: { secretId: string; at: Date } | null;
}

/** The one row mapper; rows never carry the token's HMAC out of the table (see COLUMNS). */
export const toConsumer = (row: Omit<Selectable<ConsumersTable>, 'token_hmac'>): Consumer => ({
  id: row.id,
  apiKey: row.api_key,
  name: row.name,
  tokenExpiresAt: new Date(row.token_expires_at),
  tokenRevokedAt: row.token_revoked_at && new Date(row.token_revoked_at),
  intervalSeconds: row.interval_seconds,
  createdBy: row.created_by,
  createdAt: new Date(row.created_at),
  lastDelivery:
    row.last_delivery_secret_id && row.last_delivery_at
      ? { secretId: row.last_delivery_secret_id, at: new Date(row.last_delivery_at) }
      : null,
  held:
    row.held_secret_id && row.held_reported_at
      ? { secretId: row.held_secret_id, at: new Date(row.held_reported_at) }
      : null,
});

const COLUMNS = [
  'id',
  'api_key',
  'name',
  'token_expires_at',
  'token_revoked_at',
  'interval_seconds',
  'created_by',
  'created_at',
  'last_delivery_secret_id',
  'last_delivery_at',
  'held_secret_id',
  'held_reported_at',
] as const;

/** The rules the unique indexes keep, checked first so the refusal names what is in the way. */
export async function assertRegistrable(db: Kysely<Database>, apiKey: string, name: string, self?: string) {
  const named = await db.selectFrom('consumers').select('id').where('name', '=', name).executeTakeFirst();
  if (named && named.id !== self)
    throw new AppError('consumer-conflict', 409, `A consumer named "${name}" exists already; names are never reused.`);
  const on = await deliveringOn(db, apiKey);
  if (on && on.id !== self)
    throw new AppError(
      'consumer-conflict',
      409,
      `"${on.name}" already receives ${apiKey}'s credentials: Vonage allows two secrets, so one consumer per ` +
        'account has delivery on. Revoke its token first.',
    );
}

/** The indexes refused a write the checks allowed: another request got there first. */
function refusedAsTaken(error: unknown): never {
  if ((error as { code?: string }).code !== '23505') throw error;
  throw new AppError('consumer-conflict', 409, 'Another request changed this consumer first; read it and try again.');
}

export async function insertConsumer(
  db: Kysely<Database>,
  consumer: Pick<Consumer, 'id' | 'apiKey' | 'name' | 'tokenExpiresAt' | 'intervalSeconds' | 'createdBy'>,
  tokenHmac: string,
): Promise<Consumer> {
  const values = {
    id: consumer.id,
    api_key: consumer.apiKey,
    name: consumer.name,
    token_hmac: tokenHmac,
    token_expires_at: consumer.tokenExpiresAt,
    interval_seconds: consumer.intervalSeconds,
    created_by: consumer.createdBy,
  };
  await assertRegistrable(db, consumer.apiKey, consumer.name);
  try {
    return toConsumer(await db.insertInto('consumers').values(values).returning(COLUMNS).executeTakeFirstOrThrow());
  } catch (error) {
    return refusedAsTaken(error);
  }
}

/** Consumers as this module hands them out: every column but the token's HMAC. */
const consumers = (db: Kysely<Database>) => db.selectFrom('consumers').select(COLUMNS);

/** The consumer a live token belongs to: not revoked, not expired, on the account it was issued for. */
export async function consumerByToken(db: Kysely<Database>, tokenHmac: string): Promise<Consumer | undefined> {
  const row = await consumers(db)
    .where('token_hmac', '=', tokenHmac)
    .where('token_revoked_at', 'is', null)
    .where('token_expires_at', '>', sql<Date>`clock_timestamp()`)
    .executeTakeFirst();
  return row && toConsumer(row);
}

export async function deliveringOn(db: Kysely<Database>, apiKey: string): Promise<Consumer | undefined> {
  const row = await consumers(db)
    .where('api_key', '=', apiKey)
    .where('token_revoked_at', 'is', null)
    .executeTakeFirst();
  return row && toConsumer(row);
}

export async function consumersOf(db: Kysely<Database>, apiKey: string): Promise<Consumer[]> {
  return (await consumers(db).where('api_key', '=', apiKey).orderBy('created_at').execute()).map(toConsumer);
}

/** Every consumer with delivery on (an expired token included: it is overdue), for the per-consumer metrics. */
export async function deliveringConsumers(db: Kysely<Database>): Promise<Consumer[]> {
  return (await consumers(db).where('token_revoked_at', 'is', null).execute()).map(toConsumer);
}

export async function findConsumer(db: Kysely<Database>, apiKey: string, name: string): Promise<Consumer | undefined> {
  const row = await consumers(db).where('api_key', '=', apiKey).where('name', '=', name).executeTakeFirst();
  return row && toConsumer(row);
}

/** A new token replaces the old one (which stops working at once) and turns delivery on again. */
export async function replaceToken(
  db: Kysely<Database>,
  consumer: Consumer,
  tokenHmac: string,
  expiresAt: Date,
): Promise<Consumer> {
  await assertRegistrable(db, consumer.apiKey, consumer.name, consumer.id);
  try {
    const row = await db
      .updateTable('consumers')
      .set({ token_hmac: tokenHmac, token_expires_at: expiresAt, token_revoked_at: null })
      .where('id', '=', consumer.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    return toConsumer(row);
  } catch (error) {
    return refusedAsTaken(error);
  }
}

export async function revokeToken(db: Kysely<Database>, consumer: Consumer): Promise<Consumer> {
  const row = await db
    .updateTable('consumers')
    .set({ token_revoked_at: sql<Date>`coalesce(token_revoked_at, clock_timestamp())` as unknown as Date })
    .where('id', '=', consumer.id)
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return toConsumer(row);
}

/** What the consumer said it held on this call (null: nothing yet). */
export async function recordHeld(db: Kysely<Database>, consumer: Consumer, secretId: string | null): Promise<void> {
  await db
    .updateTable('consumers')
    .set({ held_secret_id: secretId, held_reported_at: sql<Date>`clock_timestamp()` as unknown as Date })
    .where('id', '=', consumer.id)
    .execute();
}

export async function recordDelivery(db: Kysely<Database>, consumer: Consumer, secretId: string): Promise<Date> {
  const row = await db
    .updateTable('consumers')
    .set({ last_delivery_secret_id: secretId, last_delivery_at: sql<Date>`clock_timestamp()` as unknown as Date })
    .where('id', '=', consumer.id)
    .returning('last_delivery_at')
    .executeTakeFirstOrThrow();
  return new Date(row.last_delivery_at as Date);
}

/** A delivery later than the consumer's interval plus this is overdue (the console mark and the alert agree). */
export const OVERDUE_GRACE_SECONDS = 86_400;

export function deliveryState(consumer: Consumer, now = Date.now()): 'on' | 'revoked' | 'expired' {
  if (consumer.tokenRevokedAt) return 'revoked';
  return consumer.tokenExpiresAt.getTime() <= now ? 'expired' : 'on';
}

/** Delivery is on and the last one (or the registration) is older than the interval plus the grace. */
export function isOverdue(consumer: Consumer, now = Date.now()): boolean {
  const since = (consumer.lastDelivery?.at ?? consumer.createdAt).getTime();
  const due = since + (consumer.intervalSeconds + OVERDUE_GRACE_SECONDS) * 1000;
  return deliveryState(consumer, now) === 'on' && now > due;
}
