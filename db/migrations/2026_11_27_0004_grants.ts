import { type Kysely, sql } from 'kysely';

/**
 * Grants for the roles db/roles.sql creates (skipped where a role does not exist, e.g. `npm run dev`).
 * The runtime role may only add and read audit records; the trigger functions that keep the chain run
 * as the owner, so `gateway` needs no right on audit_chain_head beyond reading it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`do $$
    begin
      revoke create on schema public from public;
      if exists (select from pg_roles where rolname = 'gateway') then
        grant usage on schema public to gateway;
        grant select, insert on audit_events, audit_outcomes to gateway;
        grant select on audit_chain_head to gateway;
        grant select, insert, update, delete on rate_limit_hits to gateway;
      end if;
      if exists (select from pg_roles where rolname = 'auditor') then
        grant usage on schema public to auditor;
        grant select on audit_events, audit_outcomes, audit_chain_head to auditor;
      end if;
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`do $$
    begin
      if exists (select from pg_roles where rolname = 'gateway') then
        revoke all on audit_events, audit_outcomes, audit_chain_head, rate_limit_hits from gateway;
      end if;
      if exists (select from pg_roles where rolname = 'auditor') then
        revoke all on audit_events, audit_outcomes, audit_chain_head from auditor;
      end if;
    end
  $$`.execute(db);
}
