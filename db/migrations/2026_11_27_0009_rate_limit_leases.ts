import { type Kysely, sql } from 'kysely';

/**
 * Leased rate-limit quotas: a replica takes a block of a caller's budget in one round trip and spends
 * it locally. Leased hits count as spent in the shared row, so the sum over replicas never exceeds the
 * limit. The row locks for the statement, so concurrent leases queue rather than overdraw.
 * Frozen in time: migrations never import application code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create function rate_limit_lease(p_key text, p_want integer, p_limit integer, p_window_ms integer)
    returns table (granted integer, hits integer, reset_at timestamptz) language plpgsql as $$
    declare
      current rate_limit_hits%rowtype;
      window_end timestamptz := clock_timestamp() + p_window_ms * interval '1 millisecond';
    begin
      insert into rate_limit_hits as t (key, hits, reset_at) values (p_key, 0, window_end)
        on conflict (key) do update set
          hits = case when t.reset_at <= clock_timestamp() then 0 else t.hits end,
          reset_at = case when t.reset_at <= clock_timestamp() then window_end else t.reset_at end
        returning t.* into current;
      granted := least(p_want, greatest(0, p_limit - current.hits));
      update rate_limit_hits as t set hits = current.hits + granted where t.key = p_key
        returning t.hits, t.reset_at into hits, reset_at;
      return next;
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function rate_limit_lease(text, integer, integer, integer)`.execute(db);
}
