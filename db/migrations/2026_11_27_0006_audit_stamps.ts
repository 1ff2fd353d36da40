import { type Kysely, sql } from 'kysely';

/**
 * The database, not the writer, decides every audit record's id and time. Before this, the runtime
 * role could insert `overriding system value` with a chosen id and a backdated occurred_at, and the
 * chain would link it faithfully. Now the chain trigger, which runs as the owner, overwrites id and
 * occurred_at on events, and on outcomes takes api_key from the event and never records an outcome
 * earlier than its event. `client_ip` becomes `inet`, so a forwarded header's `=1+2` can never be stored.
 * Frozen in time: migrations never import application code.
 */
/** Linking a record into the chain, unchanged from 0003: the part both versions of the function share. */
const LINK = `
      select * into head from audit_chain_head where id = 1 for update;
      new.chain_seq := head.seq + 1;
      if tg_table_name = 'audit_events' then
        canonical := audit_event_canonical(new);
      else
        canonical := audit_outcome_canonical(new);
      end if;
      new.chain_hash := sha256(head.hash || convert_to(canonical, 'UTF8'));
      update audit_chain_head set seq = new.chain_seq, hash = new.chain_hash where id = 1;
      return new;`;

export async function up(db: Kysely<any>): Promise<void> {
  // A plain sequence that only the trigger draws from: an identity column can be overridden by the caller.
  await sql`alter table audit_events alter column id drop identity`.execute(db);
  await sql`create sequence audit_events_id_seq as bigint owned by audit_events.id`.execute(db);
  await sql`select setval('audit_events_id_seq', coalesce((select max(id) from audit_events), 0) + 1, false)`.execute(
    db,
  );
  // The default draws as the owner, so the runtime role needs no right on the sequence itself.
  await sql`create function audit_next_event_id() returns bigint language sql volatile security definer
    set search_path = public, pg_temp as $$ select nextval('audit_events_id_seq') $$`.execute(db);
  await sql`alter table audit_events alter column id set default audit_next_event_id()`.execute(db);
  await sql`alter table audit_events alter column client_ip type inet
    using (case when client_ip ~ '^[0-9A-Fa-f:.]+$' then client_ip::inet end)`.execute(db);
  await sql`create or replace function audit_chain_link() returns trigger language plpgsql security definer
    set search_path = public, pg_temp as $$
    declare
      head audit_chain_head%rowtype;
      event audit_events%rowtype;
      canonical text;
    begin
      if tg_table_name = 'audit_events' then
        -- Keep the id only if the sequence just issued it to this session (the default); else draw one.
        begin
          if new.id is distinct from currval('audit_events_id_seq') then
            new.id := nextval('audit_events_id_seq');
          end if;
        exception when object_not_in_prerequisite_state then
          new.id := nextval('audit_events_id_seq');
        end;
        new.occurred_at := clock_timestamp();
      else
        select * into event from audit_events where id = new.event_id;
        if not found then
          raise exception 'audit outcome for event % which does not exist', new.event_id using errcode = 'foreign_key_violation';
        end if;
        new.recorded_at := greatest(clock_timestamp(), event.occurred_at);
        new.api_key := event.api_key;
      end if;
      ${sql.raw(LINK)}
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create or replace function audit_chain_link() returns trigger language plpgsql security definer
    set search_path = public, pg_temp as $$
    declare
      head audit_chain_head%rowtype;
      canonical text;
    begin
      ${sql.raw(LINK)}
    end
  $$`.execute(db);
  await sql`alter table audit_events alter column client_ip type text using host(client_ip)`.execute(db);
  await sql`alter table audit_events alter column id drop default`.execute(db);
  await sql`drop function audit_next_event_id()`.execute(db);
  await sql`drop sequence audit_events_id_seq`.execute(db);
  await sql`alter table audit_events alter column id add generated always as identity`.execute(db);
}
