import { type Kysely, sql } from 'kysely';

/**
 * Delivery to workloads (External Secrets Operator's Webhook generator). A consumer is a named workload
 * that receives one account's credentials. Its delivery token is stored only as an HMAC; a name is never
 * reused (the audit log names consumers as `consumer:<name>`), and at most one consumer per account has
 * delivery on (a live token), because Vonage allows two secrets: the one in use and the one coming in.
 * A delivery is a rotation whose cutover the consumer does itself: `rotations.consumer_id` marks it.
 * Frozen in time: migrations never import application code.
 */
const ACTIONS = (extra: string[]) =>
  sql.raw(
    [
      'secret.create',
      'secret.revoke',
      'secret.test',
      'rotation.start',
      'rotation.complete',
      'rotation.cancel',
      ...extra,
    ]
      .map((action) => `'${action}'`)
      .join(', '),
  );
const DELIVERY_ACTIONS = ['delivery.generate', 'consumer.register', 'consumer.reissue', 'consumer.revoke'];

async function allowActions(db: Kysely<any>, extra: string[]): Promise<void> {
  await sql`alter table audit_events drop constraint audit_events_action_check`.execute(db);
  await sql`alter table audit_events add constraint audit_events_action_check
    check (action in (${ACTIONS(extra)}))`.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table consumers (
    id uuid primary key,
    api_key text not null,
    name text not null unique check (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    token_hmac text not null unique,
    token_expires_at timestamptz not null,
    token_revoked_at timestamptz,
    interval_seconds integer not null check (interval_seconds > 0),
    created_by text not null,
    created_at timestamptz not null default clock_timestamp(),
    last_delivery_secret_id text,
    last_delivery_at timestamptz,
    held_secret_id text,
    held_reported_at timestamptz)`.execute(db);
  await sql`create unique index consumers_one_delivering_idx on consumers (api_key)
    where token_revoked_at is null`.execute(db);
  await sql`alter table rotations add column consumer_id uuid references consumers (id)`.execute(db);
  await allowActions(db, DELIVERY_ACTIONS);
  await sql`do $$
    begin
      if exists (select from pg_roles where rolname = 'gateway') then
        grant select, insert, update on consumers to gateway;
      end if;
      if exists (select from pg_roles where rolname = 'auditor') then
        grant select (id, api_key, name, token_expires_at, token_revoked_at, interval_seconds, created_by,
          created_at, last_delivery_secret_id, last_delivery_at, held_secret_id, held_reported_at)
          on consumers to auditor;
      end if;
    end
  $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Refused (by the check) once a delivery was audited: the audit log is append-only, so no way back past it.
  await allowActions(db, []);
  await sql`alter table rotations drop column consumer_id`.execute(db);
  await sql`drop table consumers`.execute(db);
}
