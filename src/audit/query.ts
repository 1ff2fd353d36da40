import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import type { AuditAction, AuditOutcome } from './audit.table.ts';

export interface AuditFilter {
  action?: AuditAction;
  actor?: string;
  apiKey?: string;
  outcome?: AuditOutcome;
  since?: Date;
  until?: Date;
  limit: number;
  cursor?: string;
}

export interface AuditEventView {
  id: string;
  occurred_at: string;
  request_id: string;
  action: AuditAction;
  actor: { email: string; user: string | null; groups: string[] };
  api_key: string | null;
  secret_id: string | null;
  outcome: AuditOutcome;
  status: number | null;
  upstream_status: number | null;
  client_ip: string | null;
  user_agent: string | null;
  rotation_id: string | null;
}

/** Keyset cursors: the id of the last event returned, made opaque so callers don't build their own. */
const encodeCursor = (id: string) => Buffer.from(`ev:${id}`).toString('base64url');

const MAX_BIGINT = 2n ** 63n - 1n;

function decodeCursor(cursor: string): string {
  const match = /^ev:(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  // Nineteen digits can exceed Postgres's bigint, which would fail the query instead of the request.
  if (!match?.[1] || BigInt(match[1]) > MAX_BIGINT) {
    throw new AppError('invalid-request', 400, 'The cursor is not one this API returned.', {
      invalidParams: [{ name: 'cursor', reason: 'is not a valid cursor' }],
    });
  }
  return match[1];
}

function filtered(db: Kysely<Database>, filter: AuditFilter) {
  let query = db.selectFrom('audit_events as e').leftJoin('audit_outcomes as o', 'o.event_id', 'e.id');
  if (filter.action) query = query.where('e.action', '=', filter.action);
  if (filter.actor) query = query.where('e.actor_email', '=', filter.actor.toLowerCase());
  if (filter.outcome === 'incomplete') query = query.where('o.event_id', 'is', null);
  else if (filter.outcome) query = query.where('o.outcome', '=', filter.outcome);
  // With an outcome, the outcome row's copy of api_key makes (api_key, outcome) one index range.
  if (filter.apiKey)
    query = query.where(
      filter.outcome && filter.outcome !== 'incomplete' ? 'o.api_key' : 'e.api_key',
      '=',
      filter.apiKey,
    );
  if (filter.since) query = query.where('e.occurred_at', '>=', filter.since);
  if (filter.until) query = query.where('e.occurred_at', '<', filter.until);
  if (filter.cursor) query = query.where('e.id', '<', decodeCursor(filter.cursor));
  return query;
}

const selected = (db: Kysely<Database>, filter: AuditFilter) =>
  filtered(db, filter)
    .select([
      'e.id',
      'e.occurred_at',
      'e.request_id',
      'e.action',
      'e.actor_email',
      'e.actor_user',
      'e.actor_groups',
      'e.api_key',
    ])
    .select([
      'e.secret_id',
      'e.client_ip',
      'e.user_agent',
      'e.rotation_id',
      'o.outcome',
      'o.status',
      'o.upstream_status',
      'o.created_secret_id',
    ])
    .orderBy('e.id', 'desc');

type Row = Awaited<ReturnType<ReturnType<typeof selected>['executeTakeFirstOrThrow']>>;

const toView = (row: Row): AuditEventView => ({
  id: String(row.id), // pg returns bigint as a string; other drivers (PGlite) as a number
  occurred_at: new Date(row.occurred_at).toISOString(),
  request_id: row.request_id,
  action: row.action,
  actor: { email: row.actor_email, user: row.actor_user, groups: row.actor_groups },
  api_key: row.api_key,
  secret_id: row.secret_id ?? row.created_secret_id ?? null,
  outcome: row.outcome ?? 'incomplete',
  status: row.status ?? null,
  upstream_status: row.upstream_status ?? null,
  client_ip: row.client_ip,
  user_agent: row.user_agent,
  rotation_id: row.rotation_id ?? null,
});

/** Newest first. One extra row is fetched to know whether another page exists. */
export async function queryAuditEvents(
  db: Kysely<Database>,
  filter: AuditFilter,
): Promise<{ events: AuditEventView[]; nextCursor: string | null }> {
  const rows = await selected(db, filter)
    .limit(filter.limit + 1)
    .execute();
  const page = rows.slice(0, filter.limit);
  const last = page.at(-1);
  return {
    events: page.map(toView),
    nextCursor: rows.length > filter.limit && last ? encodeCursor(String(last.id)) : null,
  };
}

const EXPORT_PAGE = 1_000;

/**
 * Every matching event (or the first `limit`), newest first, handed to `onEvent` one at a time.
 * It walks keyset pages of 1,000, so memory stays flat however many match and no statement runs long;
 * ids only grow, so events written during the export never slip into pages already passed.
 */
export async function exportAuditEvents(
  db: Kysely<Database>,
  filter: Omit<AuditFilter, 'limit'> & { limit?: number },
  onEvent: (event: AuditEventView) => Promise<void> | void,
): Promise<void> {
  let remaining = filter.limit ?? Number.POSITIVE_INFINITY;
  let cursor = filter.cursor;
  while (remaining > 0) {
    const size = Math.min(EXPORT_PAGE, remaining);
    const rows = await selected(db, { ...filter, cursor, limit: size })
      .limit(size)
      .execute();
    for (const row of rows) await onEvent(toView(row));
    const last = rows.at(-1);
    if (rows.length < size || !last) return;
    remaining -= rows.length;
    cursor = encodeCursor(String(last.id));
  }
}
