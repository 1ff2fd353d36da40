import { type Kysely, sql } from 'kysely';

/**
 * Seeds `count` audit events with outcomes, 200 actors and 20 api keys, in large batches. Bulk loads
 * bypass the chain trigger (it serialises writers on one head row, which is right for the service's
 * one-record transactions but quadratic inside one huge statement), so seeded rows are unlinked:
 * only for scratch databases that measure queries and exports. Needs a superuser connection.
 */
/** Seeded events span the last 90 days, oldest first, so ids and times rise together as in production. */
const SPREAD_SECONDS = 90 * 86_400;

export async function seedAuditEvents(db: Kysely<any>, count: number, batch = 50_000): Promise<void> {
  await sql`alter table audit_events disable trigger audit_events_chain_link`.execute(db);
  await sql`alter table audit_outcomes disable trigger audit_outcomes_chain_link`.execute(db);
  for (let done = 0; done < count; done += batch) {
    const size = Math.min(batch, count - done);
    await sql`
      with inserted as (
        insert into audit_events (occurred_at, request_id, action, actor_email, actor_user, actor_groups, api_key, secret_id, client_ip, user_agent)
        select now() - make_interval(secs => (${count}::bigint - ${done}::bigint - g)::float8 * ${SPREAD_SECONDS / count}::float8), 'seed-' || (${done}::bigint + g), case when g % 3 = 0 then 'secret.revoke' else 'secret.create' end,
               'actor' || (g % 200) || '@example.com', 'actor' || (g % 200), array['staff'], 'acct' || lpad((g % 20)::text, 4, '0'),
               null, ('10.0.' || (g % 250) || '.1')::inet, 'seed/1.0'
        from generate_series(1, ${size}::int) g
        returning id, api_key
      )
      insert into audit_outcomes (event_id, api_key, outcome, status, upstream_status, created_secret_id)
      select id, api_key, case when id % 10 = 0 then 'denied' when id % 17 = 0 then 'upstream_failed' else 'success' end,
             case when id % 10 = 0 then 403 when id % 17 = 0 then 502 else 201 end, null, null
      from inserted`.execute(db);
  }
  await sql`alter table audit_events enable always trigger audit_events_chain_link`.execute(db);
  await sql`alter table audit_outcomes enable always trigger audit_outcomes_chain_link`.execute(db);
  await sql`analyze audit_events`.execute(db);
  await sql`analyze audit_outcomes`.execute(db);
}

/**
 * Seeds `count` events, each with an outcome, through the chain trigger, so the chain is intact and
 * as long as a busy year's. Small statements keep the head row's version chain short.
 */
export async function seedChainedEvents(db: Kysely<any>, count: number, batch = 250): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    const size = Math.min(batch, count - done);
    await sql`
      with inserted as (
        insert into audit_events (request_id, action, actor_email, actor_groups, api_key)
        select 'chain-seed-' || (${done}::bigint + g), 'secret.create', 'seed@example.com', array['staff'], 'acct0001'
        from generate_series(1, ${size}::int) g
        returning id
      )
      insert into audit_outcomes (event_id, outcome, status) select id, 'success', 201 from inserted`.execute(db);
  }
}
