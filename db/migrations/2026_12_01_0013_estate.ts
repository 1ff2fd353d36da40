import { type Kysely, sql } from 'kysely';

/**
 * The estate: the Vonage accounts the gateway knows (the primary and its subaccounts, as the last
 * discovery saw them) and each account's secrets (ids and dates only: Vonage never returns a value).
 * `secrets_listed_at` is when the account's secrets were last listed (null: never, so nothing is known).
 * A snapshot, re-derivable from Vonage at any time, so the gateway may update and delete its rows.
 * `estate_discovery` is one row: where the last pass got the account list from, and when.
 * Frozen in time: migrations never import application code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table estate_accounts (
    api_key text primary key,
    name text,
    suspended boolean not null default false,
    is_primary boolean not null default false,
    created_at timestamptz,
    seen_at timestamptz not null default clock_timestamp(),
    secrets_listed_at timestamptz)`.execute(db);
  await sql`create index estate_accounts_name_idx on estate_accounts (lower(name), api_key)`.execute(db);
  await sql`create table estate_secrets (
    api_key text not null references estate_accounts (api_key) on delete cascade,
    secret_id text not null,
    created_at timestamptz not null,
    primary key (api_key, secret_id))`.execute(db);
  await sql`create table estate_discovery (
    id smallint primary key default 1 check (id = 1),
    source text not null check (source in ('vonage', 'static')),
    refreshed_at timestamptz not null default clock_timestamp(),
    note text)`.execute(db);
  await sql`do $$
    begin
      if exists (select from pg_roles where rolname = 'gateway') then
        grant select, insert, update, delete on estate_accounts, estate_secrets, estate_discovery
          to gateway;
      end if;
      if exists (select from pg_roles where rolname = 'auditor') then
        grant select on estate_accounts, estate_secrets, estate_discovery to auditor;
      end if;
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table estate_discovery, estate_secrets, estate_accounts`.execute(db);
}
