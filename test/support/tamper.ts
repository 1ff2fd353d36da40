import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/database.ts';

/**
 * What an owner or superuser can do behind the triggers: change the event at chain position `seq`, then
 * recompute every later hash with the chain's own SQL functions and move the head, so the chain is
 * internally consistent again. Only anchors held outside the database can tell.
 */
export async function rewriteFrom(owner: Kysely<Database>, seq: number): Promise<void> {
  await owner.transaction().execute(async (trx) => {
    await sql`alter table audit_events disable trigger user`.execute(trx);
    await sql`alter table audit_outcomes disable trigger user`.execute(trx);
    await sql`update audit_events set actor_email = 'someone-else@example.com' where chain_seq = ${seq}`.execute(trx);
    await sql`do $$ declare r record; prev bytea := sha256(convert_to('vonage-secrets-gateway audit chain v1', 'UTF8'));
      begin
        for r in select 'e' as k, id, chain_seq from audit_events union all select 'o', event_id, chain_seq from audit_outcomes order by chain_seq loop
          if r.k = 'e' then
            update audit_events set chain_hash = sha256(prev || convert_to(audit_event_canonical(audit_events), 'UTF8')) where id = r.id returning chain_hash into prev;
          else
            update audit_outcomes set chain_hash = sha256(prev || convert_to(audit_outcome_canonical(audit_outcomes), 'UTF8')) where event_id = r.id returning chain_hash into prev;
          end if;
        end loop;
        update audit_chain_head set hash = prev where id = 1;
      end $$`.execute(trx);
    await sql`alter table audit_events enable trigger user`.execute(trx);
    await sql`alter table audit_outcomes enable trigger user`.execute(trx);
  });
}
