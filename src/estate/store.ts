import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import type { ManagedAccount } from '../policy/policy.ts';
import type { Secret, VonageAccount } from '../vonage/schemas.ts';

/**
 * The estate snapshot's repository: accounts as discovered, each account's secrets (ids and dates), and
 * where the account list came from. Every write is idempotent, so a pass cut short is simply run again.
 */
export interface Snapshot {
  source: 'vonage' | 'static' | null;
  refreshedAt: Date | null;
  accounts: ManagedAccount[];
}

export async function readSnapshot(db: Kysely<Database>): Promise<Snapshot> {
  const [discovery, accounts] = await Promise.all([
    db.selectFrom('estate_discovery').select(['source', 'refreshed_at']).executeTakeFirst(),
    db.selectFrom('estate_accounts').select(['api_key', 'name', 'suspended']).orderBy('api_key').execute(),
  ]);
  return {
    source: discovery?.source ?? null,
    refreshedAt: discovery?.refreshed_at ?? null,
    accounts: accounts.map((a) => ({ apiKey: a.api_key, name: a.name, suspended: a.suspended })),
  };
}

const toDate = (text: string | null) => {
  const at = text === null ? Number.NaN : Date.parse(text);
  return Number.isNaN(at) ? null : new Date(at);
};

/** Vonage's list, as it is now: new accounts added, names and suspension updated, vanished ones removed. */
export async function saveDiscovered(db: Kysely<Database>, primary: VonageAccount | null, subs: VonageAccount[]) {
  const all = [
    ...(primary ? [{ ...primary, is_primary: true }] : []),
    ...subs.map((s) => ({ ...s, is_primary: false })),
  ];
  await db.transaction().execute(async (trx) => {
    if (all.length > 0) {
      const rows = all.map((a) => ({
        api_key: a.api_key,
        name: a.name,
        suspended: a.suspended,
        is_primary: a.is_primary,
        created_at: toDate(a.created_at),
        seen_at: new Date(),
      }));
      await trx
        .insertInto('estate_accounts')
        .values(rows)
        .onConflict((oc) =>
          oc.column('api_key').doUpdateSet((eb) => ({
            name: eb.ref('excluded.name'),
            suspended: eb.ref('excluded.suspended'),
            is_primary: eb.ref('excluded.is_primary'),
            created_at: eb.ref('excluded.created_at'),
            seen_at: eb.ref('excluded.seen_at'),
          })),
        )
        .execute();
    }
    const keys = all.map((a) => a.api_key);
    await trx.deleteFrom('estate_accounts').where(sql<boolean>`not (api_key = any(${keys}::text[]))`).execute();
    await markSource(trx, 'vonage', null);
  });
}

/** Without discovery: the static list's accounts get a row (no name) so their secrets can be recorded. */
export async function saveStatic(db: Kysely<Database>, keys: readonly string[], note: string | null) {
  await db.transaction().execute(async (trx) => {
    if (keys.length > 0) {
      await trx
        .insertInto('estate_accounts')
        .values(keys.map((api_key) => ({ api_key, name: null, suspended: false, is_primary: false, created_at: null })))
        .onConflict((oc) => oc.column('api_key').doNothing())
        .execute();
    }
    await markSource(trx, 'static', note);
  });
}

async function markSource(db: Kysely<Database>, source: 'vonage' | 'static', note: string | null) {
  await db
    .insertInto('estate_discovery')
    .values({ source, note, refreshed_at: new Date() })
    .onConflict((oc) => oc.column('id').doUpdateSet({ source, note, refreshed_at: new Date() }))
    .execute();
}

/** The account's secrets as Vonage just listed them, replacing what was recorded. */
export async function recordSecrets(db: Kysely<Database>, apiKey: string, secrets: readonly Secret[]) {
  const ids = secrets.map((s) => s.id);
  await db.transaction().execute(async (trx) => {
    await upsertAccount(trx, apiKey, { secrets_listed_at: new Date() });
    await trx
      .deleteFrom('estate_secrets')
      .where('api_key', '=', apiKey)
      .where(sql<boolean>`not (secret_id = any(${ids}::text[]))`)
      .execute();
    await insertSecrets(trx, apiKey, secrets);
  });
}

/** One secret created: recorded at once, so the caller's next page shows it. */
export async function addSecret(db: Kysely<Database>, apiKey: string, secret: Secret) {
  await db.transaction().execute(async (trx) => {
    await upsertAccount(trx, apiKey, {});
    await insertSecrets(trx, apiKey, [secret]);
  });
}

export async function removeSecret(db: Kysely<Database>, apiKey: string, secretId: string) {
  await db.deleteFrom('estate_secrets').where('api_key', '=', apiKey).where('secret_id', '=', secretId).execute();
}

async function upsertAccount(db: Kysely<Database>, apiKey: string, set: { secrets_listed_at?: Date }) {
  const row = { api_key: apiKey, name: null, suspended: false, is_primary: false, created_at: null, ...set };
  await db
    .insertInto('estate_accounts')
    .values(row)
    .onConflict((oc) =>
      set.secrets_listed_at ? oc.column('api_key').doUpdateSet(set) : oc.column('api_key').doNothing(),
    )
    .execute();
}

async function insertSecrets(db: Kysely<Database>, apiKey: string, secrets: readonly Secret[]) {
  const rows = secrets.flatMap((s) => {
    const createdAt = toDate(s.created_at);
    return createdAt ? [{ api_key: apiKey, secret_id: s.id, created_at: createdAt }] : [];
  });
  if (rows.length === 0) return;
  await db
    .insertInto('estate_secrets')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['api_key', 'secret_id']).doUpdateSet((eb) => ({ created_at: eb.ref('excluded.created_at') })),
    )
    .execute();
}
