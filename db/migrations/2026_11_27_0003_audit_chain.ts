import { type Kysely, sql } from 'kysely';

/**
 * Tamper evidence: every audit record (event or outcome) is a link in one SHA-256 chain, in insertion
 * order. A BEFORE INSERT trigger locks the single head row, so concurrent writers queue instead of
 * forking the chain, and computes
 *     chain_hash = sha256(previous chain_hash || utf8(canonical text of the record))
 * The canonical text is a jsonb array with timestamps rendered in UTC, so it does not depend on the
 * session's time zone. The trigger runs as the table owner (SECURITY DEFINER): the runtime role needs
 * no right to touch the head. Frozen in time: migrations never import application code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_events', 'audit_outcomes']) {
    await sql`alter table ${sql.table(table)} add column chain_seq bigint, add column chain_hash bytea`.execute(db);
    await sql`create unique index ${sql.raw(`${table}_chain_seq_idx`)} on ${sql.table(table)} (chain_seq)`.execute(db);
  }
  await sql`create table audit_chain_head (
    id smallint primary key check (id = 1),
    seq bigint not null,
    hash bytea not null)`.execute(db);
  await sql`insert into audit_chain_head values (1, 0, sha256(convert_to('vonage-secrets-gateway audit chain v1', 'UTF8')))`.execute(
    db,
  );

  await sql`create function audit_event_canonical(e audit_events) returns text language sql stable as $$
    select jsonb_build_array('audit_events', e.chain_seq, e.id, to_char(e.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      e.request_id, e.action, e.actor_email, e.actor_user, e.actor_groups, e.api_key, e.secret_id, e.client_ip, e.user_agent)::text
  $$`.execute(db);
  await sql`create function audit_outcome_canonical(o audit_outcomes) returns text language sql stable as $$
    select jsonb_build_array('audit_outcomes', o.chain_seq, o.event_id, to_char(o.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      o.outcome, o.status, o.upstream_status, o.created_secret_id, o.api_key)::text
  $$`.execute(db);

  await sql`create function audit_chain_link() returns trigger language plpgsql security definer set search_path = public, pg_temp as $$
    declare
      head audit_chain_head%rowtype;
      canonical text;
    begin
      select * into head from audit_chain_head where id = 1 for update;
      new.chain_seq := head.seq + 1;
      if tg_table_name = 'audit_events' then
        canonical := audit_event_canonical(new);
      else
        canonical := audit_outcome_canonical(new);
      end if;
      new.chain_hash := sha256(head.hash || convert_to(canonical, 'UTF8'));
      update audit_chain_head set seq = new.chain_seq, hash = new.chain_hash where id = 1;
      return new;
    end
  $$`.execute(db);

  await backfill(db);
  for (const table of ['audit_events', 'audit_outcomes']) {
    await sql`create trigger ${sql.raw(`${table}_chain_link`)} before insert on ${sql.table(table)}
      for each row execute function audit_chain_link()`.execute(db);
    await sql`alter table ${sql.table(table)} enable always trigger ${sql.raw(`${table}_chain_link`)}`.execute(db);
  }
}

/** Rows written before this migration join the chain in insertion order (events before their outcomes). */
async function backfill(db: Kysely<any>): Promise<void> {
  await sql`alter table audit_events disable trigger audit_events_refuse_update_delete`.execute(db);
  await sql`alter table audit_outcomes disable trigger audit_outcomes_refuse_update_delete`.execute(db);
  await sql`do $$
    declare r record; head audit_chain_head%rowtype;
    begin
      for r in select 'e' as kind, id, occurred_at as at from audit_events
               union all select 'o', event_id, recorded_at from audit_outcomes order by at, kind, id loop
        select * into head from audit_chain_head where id = 1;
        if r.kind = 'e' then
          update audit_events set chain_seq = head.seq + 1 where id = r.id;
          update audit_events set chain_hash = sha256(head.hash || convert_to(audit_event_canonical(audit_events), 'UTF8')) where id = r.id;
          update audit_chain_head set seq = head.seq + 1, hash = (select chain_hash from audit_events where id = r.id);
        else
          update audit_outcomes set chain_seq = head.seq + 1 where event_id = r.id;
          update audit_outcomes set chain_hash = sha256(head.hash || convert_to(audit_outcome_canonical(audit_outcomes), 'UTF8')) where event_id = r.id;
          update audit_chain_head set seq = head.seq + 1, hash = (select chain_hash from audit_outcomes where event_id = r.id);
        end if;
      end loop;
    end $$`.execute(db);
  await sql`alter table audit_events enable always trigger audit_events_refuse_update_delete`.execute(db);
  await sql`alter table audit_outcomes enable always trigger audit_outcomes_refuse_update_delete`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['audit_events', 'audit_outcomes']) {
    await sql`drop trigger ${sql.raw(`${table}_chain_link`)} on ${sql.table(table)}`.execute(db);
  }
  await sql`drop function audit_chain_link()`.execute(db);
  await sql`drop function audit_event_canonical(audit_events)`.execute(db);
  await sql`drop function audit_outcome_canonical(audit_outcomes)`.execute(db);
  await sql`drop table audit_chain_head`.execute(db);
  for (const table of ['audit_events', 'audit_outcomes']) {
    await sql`alter table ${sql.table(table)} drop column chain_seq, drop column chain_hash`.execute(db);
  }
}
