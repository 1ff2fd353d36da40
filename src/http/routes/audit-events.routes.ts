import { strictRouter } from './strict-router.ts';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Kysely } from 'kysely';
import type { ChainVerifier } from '../../audit/chain-verifier.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../../audit/export-formats.ts';
import { parseAuditFilter } from '../../audit/filter.ts';
import type { LongReads } from '../../audit/long-reads.ts';
import { exportAuditEvents, queryAuditEvents } from '../../audit/query.ts';
import type { Database } from '../../database.ts';
import { AppError } from '../../errors.ts';
import { assertAllowed } from '../../policy/authorize.ts';
import type { Policy } from '../../policy/policy.ts';
import { verifiedIdentity } from '../context.ts';

const DEFAULT_LIMIT = 50;

const FILTER_NAMES = ['action', 'actor', 'api_key', 'outcome', 'since', 'until', 'limit', 'cursor'] as const;

/** The contract has checked names and shapes (and made limit a number); the shared parser gives values meaning. */
function filterFrom(query: Record<string, unknown>) {
  const input = Object.fromEntries(
    FILTER_NAMES.flatMap((name) =>
      ['string', 'number'].includes(typeof query[name]) ? [[name, String(query[name])]] : [],
    ),
  );
  const { filter, problems } = parseAuditFilter(input);
  if (problems.length > 0) {
    throw new AppError('invalid-request', 400, 'The audit filter is not valid.', { invalidParams: problems });
  }
  return filter;
}

const EXPORTS: Record<string, ExportFormat> = Object.fromEntries(
  Object.values(EXPORT_FORMATS).map((format) => [format.mediaType, format]),
);

/** `?format=` (a plain download link) wins over Accept (API clients); JSON pages are the default. */
function exportFormatOf(req: Request): ExportFormat | undefined {
  const named = req.query.format;
  if (named === 'csv' || named === 'ndjson') return EXPORT_FORMATS[named];
  return EXPORTS[req.accepts(['application/json', ...Object.keys(EXPORTS)]) || 'application/json'];
}

class ClientGone extends Error {}

/** Writes rows as the keyset pages arrive, waiting whenever the client is slower than the database. */
async function streamTo(
  res: Response,
  db: Kysely<Database>,
  filter: Parameters<typeof exportAuditEvents>[1],
  format: ExportFormat,
) {
  res.write(format.header);
  try {
    await exportAuditEvents(db, filter, async (event) => {
      if (res.destroyed) throw new ClientGone(); // stop reading further pages
      if (!res.write(format.line(event)))
        await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    });
  } catch (error) {
    if (error instanceof ClientGone) return;
    throw error; // the error mapper aborts the connection, so a cut-off export never looks complete
  }
  res.end();
}

export interface AuditEventsDeps {
  db: Kysely<Database>;
  policy: Policy;
  /** Verification and exports: their own pool and concurrency cap. */
  longReads: LongReads;
  chainVerifier: ChainVerifier;
}

export function auditEventsRouter(
  { db, policy, longReads, chainVerifier }: AuditEventsDeps,
  contract: RequestHandler[],
): Router {
  const router = strictRouter();

  router.get('/v1/audit-events/verify', contract, async (req: Request, res: Response) => {
    assertAllowed(policy, verifiedIdentity(res), 'audit:read');
    res.json(await chainVerifier.verify({ full: String(req.query.full) === 'true' }));
  });

  router.get('/v1/audit-events', contract, async (req: Request, res: Response) => {
    assertAllowed(policy, verifiedIdentity(res), 'audit:read');
    const filter = filterFrom(req.query as Record<string, unknown>);
    const format = exportFormatOf(req);
    if (format) {
      return longReads.run((longReadDb) => {
        res.type(format.mediaType);
        if (req.query.format)
          res.attachment(`audit-events-${new Date().toISOString().replaceAll(':', '')}.${req.query.format}`);
        return streamTo(res, longReadDb, filter, format);
      });
    }
    const { events, nextCursor } = await queryAuditEvents(db, { ...filter, limit: filter.limit ?? DEFAULT_LIMIT });
    res.json({ events, next_cursor: nextCursor });
  });
  return router;
}
