import type { Response } from 'express';
import { Router } from 'express';
import type { Kysely } from 'kysely';
import { verifyChain } from '../../audit/chain.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../../audit/export-formats.ts';
import { type AuditFilter, exportAuditEvents, queryAuditEvents } from '../../audit/query.ts';
import type { AuditAction, AuditOutcome } from '../../audit/tables.ts';
import type { Database } from '../../database.ts';
import { AppError } from '../../errors.ts';
import { assertAllowed } from '../../policy/authorize.ts';
import type { Policy } from '../../policy/policy.ts';
import { verifiedIdentity } from '../context.ts';

const DEFAULT_LIMIT = 50;

/** The contract has already checked types, enums and ranges; this only gives them their JS shape. */
function filterFrom(query: Record<string, unknown>): Omit<AuditFilter, 'limit'> & { limit?: number } {
  const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : undefined);
  const date = (name: string) => (text(name) === undefined ? undefined : new Date(text(name) as string));
  const filter = {
    action: text('action') as AuditAction | undefined,
    actor: text('actor'),
    apiKey: text('api_key'),
    outcome: text('outcome') as AuditOutcome | undefined,
    since: date('since'),
    until: date('until'),
    limit: query.limit === undefined ? undefined : Number(query.limit),
    cursor: text('cursor'),
  };
  if (filter.since && filter.until && filter.since >= filter.until) {
    throw new AppError('invalid-request', 400, 'since must be before until.', { invalidParams: [{ name: 'since', reason: 'must be before until' }] });
  }
  return filter;
}

const EXPORTS: Record<string, ExportFormat> = Object.fromEntries(Object.values(EXPORT_FORMATS).map((format) => [format.mediaType, format]));

class ClientGone extends Error {}

/** Writes rows as the keyset pages arrive, waiting whenever the client is slower than the database. */
async function streamTo(res: Response, db: Kysely<Database>, filter: Parameters<typeof exportAuditEvents>[1], format: ExportFormat) {
  res.write(format.header);
  try {
    await exportAuditEvents(db, filter, async (event) => {
      if (res.destroyed) throw new ClientGone(); // stop reading further pages
      if (!res.write(format.line(event))) await new Promise((resolve) => (res.once('drain', resolve), res.once('close', resolve)));
    });
  } catch (error) {
    if (error instanceof ClientGone) return;
    throw error; // the error mapper aborts the connection, so a cut-off export never looks complete
  }
  res.end();
}

export function auditEventsRouter(db: Kysely<Database>, policy: Policy): Router {
  const router = Router();

  router.get('/v1/audit-events/verify', async (_req, res) => {
    assertAllowed(policy, verifiedIdentity(res), 'audit:read');
    res.json(await verifyChain(db));
  });

  router.get('/v1/audit-events', async (req, res) => {
    assertAllowed(policy, verifiedIdentity(res), 'audit:read');
    const filter = filterFrom(req.query as Record<string, unknown>);
    const mediaType = req.accepts(['application/json', ...Object.keys(EXPORTS)]) || 'application/json';
    const format = EXPORTS[mediaType];
    if (format) {
      res.type(mediaType);
      return streamTo(res, db, filter, format);
    }
    const { events, nextCursor } = await queryAuditEvents(db, { ...filter, limit: filter.limit ?? DEFAULT_LIMIT });
    res.json({ events, next_cursor: nextCursor });
  });
  return router;
}
