import { type Kysely, sql } from 'kysely';

/**
 * Where the audit stream has got to: the chain position (and its hash) of the last record the SIEM
 * acknowledged. Delivery resumes from here after a restart or a takeover. Not audit data: the runtime
 * role moves it. Frozen in time: migrations never import application code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table audit_stream_cursor (
    id smallint primary key check (id = 1),
    seq bigint not null,
    hash bytea not null,
    updated_at timestamptz not null default clock_timestamp())`.execute(db);
  await sql`insert into audit_stream_cursor values (1, 0, sha256(convert_to('vonage-secrets-gateway audit chain v1', 'UTF8')))`.execute(
    db,
  );
  await sql`do $$
    begin
      if exists (select from pg_roles where rolname = 'gateway') then
        grant select, update on audit_stream_cursor to gateway;
      end if;
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table audit_stream_cursor`.execute(db);
}
