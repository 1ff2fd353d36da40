import { type Kysely, sql } from 'kysely';

/**
 * Guided rotation. A rotation's state lives here, so a crash between steps leaves a row the next call
 * continues or cleans up. At most one rotation per account is in progress (a partial unique index).
 * Audit events gain `rotation_id`, and the actions of a rotation's steps. The canonical text of an
 * event without a rotation_id is unchanged, so every record linked before this migration still verifies.
 * Frozen in time: migrations never import application code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table rotations (
    id uuid primary key,
    api_key text not null,
    state text not null check (state in ('creating', 'testing', 'awaiting_cutover', 'completed', 'cancelled', 'failed')),
    retire_secret_id text not null,
    new_secret_id text,
    new_secret_created_at text,
    failure text,
    started_by text not null,
    started_at timestamptz not null default clock_timestamp(),
    updated_at timestamptz not null default clock_timestamp())`.execute(db);
  await sql`create unique index rotations_one_in_progress_idx on rotations (api_key)
    where state in ('creating', 'testing', 'awaiting_cutover')`.execute(db);
  await sql`create index rotations_started_at_idx on rotations (started_at)`.execute(db);

  await sql`alter table audit_events add column rotation_id uuid`.execute(db);
  await sql`alter table audit_events drop constraint audit_events_action_check`.execute(db);
  await sql`alter table audit_events add constraint audit_events_action_check check (action in
    ('secret.create', 'secret.revoke', 'secret.test', 'rotation.start', 'rotation.complete', 'rotation.cancel'))`.execute(
    db,
  );
  await sql`create or replace function audit_event_canonical(e audit_events) returns text language sql stable as $$
    select (jsonb_build_array('audit_events', e.chain_seq, e.id,
        to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.request_id, e.action, e.actor_email,
        e.actor_user, e.actor_groups, e.api_key, e.secret_id, e.client_ip, e.user_agent)
      || case when e.rotation_id is null then '[]'::jsonb else jsonb_build_array(e.rotation_id) end)::text
  $$`.execute(db);
  await sql`do $$
    begin
      if exists (select from pg_roles where rolname = 'gateway') then
        grant select, insert, update on rotations to gateway;
      end if;
      if exists (select from pg_roles where rolname = 'auditor') then
        grant select on rotations to auditor;
      end if;
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create or replace function audit_event_canonical(e audit_events) returns text language sql stable as $$
    select jsonb_build_array('audit_events', e.chain_seq, e.id,
      to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.request_id, e.action, e.actor_email,
      e.actor_user, e.actor_groups, e.api_key, e.secret_id, e.client_ip, e.user_agent)::text
  $$`.execute(db);
  await sql`alter table audit_events drop column rotation_id`.execute(db);
  await sql`drop table rotations`.execute(db);
}
