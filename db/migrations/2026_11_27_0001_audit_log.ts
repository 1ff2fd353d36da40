import { type Kysely, sql } from 'kysely';

/**
 * The audit log: one row per create or revoke attempt, written before anything is forwarded, and one
 * row per outcome, written after. Both tables are append-only, enforced by triggers rather than grants,
 * so no role (the table owner included) can rewrite history through SQL.
 *
 * Frozen in time: migrations never import application code.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'bigint', (col) => col.primaryKey().generatedAlwaysAsIdentity())
    .addColumn('occurred_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('request_id', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull().check(sql`action in ('secret.create', 'secret.revoke')`))
    .addColumn('actor_email', 'text', (col) => col.notNull())
    .addColumn('actor_user', 'text')
    .addColumn('actor_groups', sql`text[]`, (col) => col.notNull().defaultTo(sql`'{}'`))
    .addColumn('api_key', 'text')
    .addColumn('secret_id', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('user_agent', 'text')
    .execute();

  await db.schema
    .createTable('audit_outcomes')
    .addColumn('event_id', 'bigint', (col) => col.primaryKey().references('audit_events.id'))
    .addColumn('recorded_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`clock_timestamp()`))
    .addColumn('outcome', 'text', (col) =>
      col
        .notNull()
        .check(sql`outcome in ('success', 'replayed', 'denied', 'invalid', 'upstream_rejected', 'upstream_failed')`),
    )
    .addColumn('status', 'integer', (col) => col.notNull())
    .addColumn('upstream_status', 'integer')
    .addColumn('created_secret_id', 'text')
    // Copied from the event so "api_key + outcome" is one index range, whichever way the two correlate.
    .addColumn('api_key', 'text')
    .execute();

  await db.schema
    .createIndex('audit_events_occurred_at_idx')
    .on('audit_events')
    .columns(['occurred_at', 'id'])
    .execute();
  await db.schema.createIndex('audit_events_actor_idx').on('audit_events').columns(['actor_email', 'id']).execute();
  await db.schema.createIndex('audit_events_api_key_idx').on('audit_events').columns(['api_key', 'id']).execute();
  await db.schema
    .createIndex('audit_outcomes_api_key_outcome_idx')
    .on('audit_outcomes')
    .columns(['api_key', 'outcome', 'event_id'])
    .execute();

  await sql`
    create function audit_refuse_change() returns trigger language plpgsql as $$
    begin
      raise exception 'audit log is append-only: % on % is refused', tg_op, tg_table_name
        using errcode = 'insufficient_privilege';
    end
    $$`.execute(db);

  for (const table of ['audit_events', 'audit_outcomes']) {
    await sql`create trigger ${sql.raw(`${table}_refuse_update_delete`)} before update or delete on ${sql.table(table)}
      for each row execute function audit_refuse_change()`.execute(db);
    await sql`create trigger ${sql.raw(`${table}_refuse_truncate`)} before truncate on ${sql.table(table)}
      for each statement execute function audit_refuse_change()`.execute(db);
    // ALWAYS: the triggers also fire under session_replication_role = replica, the usual way to skip them.
    await sql`alter table ${sql.table(table)} enable always trigger ${sql.raw(`${table}_refuse_update_delete`)}`.execute(
      db,
    );
    await sql`alter table ${sql.table(table)} enable always trigger ${sql.raw(`${table}_refuse_truncate`)}`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_outcomes').execute();
  await db.schema.dropTable('audit_events').execute();
  await sql`drop function audit_refuse_change()`.execute(db);
}
