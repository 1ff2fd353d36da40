import { Router } from 'express';
import type { Kysely } from 'kysely';
import { type AuditFilter, queryAuditEvents } from '../../audit/query.ts';
import type { AuditAction, AuditOutcome } from '../../audit/tables.ts';
import type { Database } from '../../database.ts';
import { AppError } from '../../errors.ts';
import { assertAllowed } from '../../policy/authorize.ts';
import type { Policy } from '../../policy/policy.ts';
import { verifiedIdentity } from '../context.ts';

const DEFAULT_LIMIT = 50;

/** The contract has already checked types, enums and ranges; this only gives them their JS shape. */
function filterFrom(query: Record<string, unknown>): AuditFilter {
  const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
  const date = (name: string) => (text(name) === undefined ? undefined : new Date(text(name) as string));
  const filter: AuditFilter = {
    action: text('action') as AuditAction | undefined,
    actor: text('actor'),
    apiKey: text('api_key'),
    outcome: text('outcome') as AuditOutcome | undefined,
    since: date('since'),
    until: date('until'),
    limit: query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit),
    cursor: text('cursor'),
  };
  if (filter.since && filter.until && filter.since >= filter.until) {
    throw new AppError('invalid-request', 400, 'since must be before until.', { invalidParams: [{ name: 'since', reason: 'must be before until' }] });
  }
  return filter;
}

export function auditEventsRouter(db: Kysely<Database>, policy: Policy): Router {
  const router = Router();
  router.get('/v1/audit-events', async (req, res) => {
    assertAllowed(policy, verifiedIdentity(res), 'audit:read');
    const { events, nextCursor } = await queryAuditEvents(db, filterFrom(req.query as Record<string, unknown>));
    res.json({ events, next_cursor: nextCursor });
  });
  return router;
}
