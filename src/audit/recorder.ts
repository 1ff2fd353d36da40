import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { AppError, unavailable } from '../errors.ts';
import type { Identity } from '../identity/identity.ts';
import type { AuditAction, NewAuditEvent, RecordedOutcome } from './audit.table.ts';

/** What is known about an attempt before anything is decided. Never holds the secret value. */
export interface AuditAttempt {
  requestId: string;
  action: AuditAction;
  actor: Identity;
  apiKey: string | null;
  secretId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  /** Set on every step of a guided rotation. */
  rotationId?: string | null;
}

export interface AuditOutcomeRecord {
  outcome: RecordedOutcome;
  status: number;
  upstreamStatus: number | null;
  createdSecretId?: string | null;
}

const USER_AGENT_MAX = 512;

const toRow = (attempt: AuditAttempt): NewAuditEvent => ({
  request_id: attempt.requestId,
  action: attempt.action,
  actor_email: attempt.actor.email,
  actor_user: attempt.actor.user,
  actor_groups: attempt.actor.groups,
  api_key: attempt.apiKey,
  secret_id: attempt.secretId,
  client_ip: attempt.clientIp,
  user_agent: attempt.userAgent?.slice(0, USER_AGENT_MAX) ?? null,
  rotation_id: attempt.rotationId ?? null,
});

/** Commits the attempt before it is forwarded; any failure becomes a 503 so nothing unaudited reaches Vonage. */
export async function recordIntent(db: Kysely<Database>, attempt: AuditAttempt): Promise<string> {
  try {
    const row = await db.insertInto('audit_events').values(toRow(attempt)).returning('id').executeTakeFirstOrThrow();
    return row.id;
  } catch (error) {
    throw unavailable('audit-unavailable', error);
  }
}

export async function recordOutcome(
  db: Kysely<Database>,
  eventId: string,
  apiKey: string | null,
  record: AuditOutcomeRecord,
): Promise<void> {
  await db
    .insertInto('audit_outcomes')
    .values({
      event_id: eventId,
      api_key: apiKey,
      outcome: record.outcome,
      status: record.status,
      upstream_status: record.upstreamStatus,
      created_secret_id: record.createdSecretId ?? null,
    })
    .execute();
}

/** An attempt settled without forwarding (invalid, denied, replayed) is written with its outcome in one transaction. */
export async function recordSettledAttempt(
  db: Kysely<Database>,
  attempt: AuditAttempt,
  record: AuditOutcomeRecord,
): Promise<void> {
  try {
    await db.transaction().execute(async (trx) => {
      const eventId = await recordIntent(trx, attempt);
      await recordOutcome(trx, eventId, attempt.apiKey, record);
    });
  } catch (error) {
    throw error instanceof AppError ? error : unavailable('audit-unavailable', error);
  }
}
