import { type Kysely, sql } from 'kysely';

/**
 * The result of each scheduled full verify of the chain, so every replica (and the console's badge) knows
 * when the whole chain was last walked and what was found, and one replica per interval does the walk.
 * Not audit data: a verify's result is re-derivable, and anyone may walk again.
 * Frozen in time: migrations never import application code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table audit_full_verifications (
    id bigint generated always as identity primary key,
    status text not null check (status in ('intact', 'broken')),
    records bigint not null,
    head_hash text,
    reason text,
    verified_at timestamptz not null default clock_timestamp())`.execute(db);
  await sql`create index audit_full_verifications_verified_at_idx on audit_full_verifications (verified_at)`.execute(
    db,
  );
  await sql`do $$
    begin
      if exists (select from pg_roles where rolname = 'gateway') then
        grant select, insert on audit_full_verifications to gateway;
      end if;
      if exists (select from pg_roles where rolname = 'auditor') then
        grant select on audit_full_verifications to auditor;
      end if;
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table audit_full_verifications`.execute(db);
}
