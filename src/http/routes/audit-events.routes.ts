import { strictRouter } from './strict-router.ts';
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Kysely } from 'kysely';
import type { ChainVerifier } from '../../audit/chain-verifier.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../../audit/export-formats.ts';
import { parseAuditFilter } from '../../audit/filter.ts';
import { lastFullVerification } from '../../audit/full-verifications.ts';
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

/** Waits until the client has taken what was written; `idle` if it takes nothing for `idleMs`. */
function drained(res: Response, idleMs: number): Promise<'drained' | 'closed' | 'idle'> {
  return new Promise((resolve) => {
    const settle = (how: 'drained' | 'closed' | 'idle') => () => {
      res.off('drain', onDrain).off('close', onClose);
      clearTimeout(timer);
      resolve(how);
    };
    const onDrain = settle('drained');
    const onClose = settle('closed');
    const timer = setTimeout(settle('idle'), idleMs);
    res.once('drain', onDrain).once('close', onClose);
  });
}

/**
 * Writes rows as the keyset pages arrive, waiting whenever the client is slower than the database. A
 * client that takes nothing for the idle timeout is cut off, so it cannot hold a long-read slot for hours.
 */
async function streamTo(
  res: Response,
  db: Kysely<Database>,
  query: { filter: Parameters<typeof exportAuditEvents>[1]; format: ExportFormat; idleMs: number },
) {
  res.write(query.format.header);
  try {
    await exportAuditEvents(db, query.filter, async (event) => {
      if (res.destroyed) throw new ClientGone(); // stop reading further pages
      if (res.write(query.format.line(event))) return;
      if ((await drained(res, query.idleMs)) === 'idle') res.destroy();
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
  /** EXPORT_IDLE_TIMEOUT_SECONDS, in ms: an export whose client takes nothing for this long is stopped. */
  exportIdleMs: number;
}

export function auditEventsRouter(
  { db, policy, longReads, chainVerifier, exportIdleMs }: AuditEventsDeps,
  contract: RequestHandler[],
): Router {
  const router = strictRouter();

  router.get('/v1/audit-events/verify', contract, async (req: Request, res: Response) => {
    assertAllowed(policy, verifiedIdentity(res), 'audit:read');
    const [report, last] = await Promise.all([
      chainVerifier.verify({ full: String(req.query.full) === 'true' }),
      lastFullVerification(db),
    ]);
    const lastFull = last && {
      verified_at: last.verifiedAt.toISOString(),
      status: last.status,
      records: last.records,
      reason: last.reason,
    };
    res.json({ ...report, last_full_verify: lastFull });
  });

  router.get('/v1/audit-events', contract, async (req: Request, res: Response) => {
    const caller = verifiedIdentity(res);
    assertAllowed(policy, caller, 'audit:read');
    const filter = filterFrom(req.query as Record<string, unknown>);
    const format = exportFormatOf(req);
    if (format) {
      return longReads.run((longReadDb) => {
        res.type(format.mediaType);
        if (req.query.format)
          res.attachment(`audit-events-${new Date().toISOString().replaceAll(':', '')}.${req.query.format}`);
        return streamTo(res, longReadDb, { filter, format, idleMs: exportIdleMs });
      }, caller.email);
    }
    const { events, nextCursor } = await queryAuditEvents(db, { ...filter, limit: filter.limit ?? DEFAULT_LIMIT });
    res.json({ events, next_cursor: nextCursor });
  });
  return router;
}
