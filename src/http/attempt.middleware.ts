import { isIP } from 'node:net';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { AuditAttempt } from '../audit/recorder.ts';
import type { AuditAction } from '../audit/audit.table.ts';
import { type AuditDeps, auditTrail } from '../audit/trail.ts';
import { API_KEY_PATTERN, SECRET_ID_PATTERN } from '../vonage/identifiers.ts';
import { context, verifiedIdentity } from './context.ts';
import { toAppError } from './errors.middleware.ts';

/**
 * An audited route declares its action first, and the attempt is built once, here, from the route's
 * own params. Input refused before the use case runs (bad JSON, a contract breach) is audited from
 * that same attempt by `auditRefusedInput`; everything after is the use case's to record.
 */

const ATTEMPT = Symbol('audit attempt');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
type WithAttempt = Response & { locals: { [ATTEMPT]?: AuditAttempt } };

/** Only values that pass the allow-lists are recorded; anything else is recorded as unknown (null). */
const allowed = (value: unknown, pattern: RegExp) => (typeof value === 'string' && pattern.test(value) ? value : null);

/**
 * req.ip is Express's trusted-proxy resolution of X-Forwarded-For, which passes on whatever an
 * untrusted hop wrote (`=1+2`); only a real address is kept. `::ffff:10.1.2.3` is how a dual-stack
 * socket reports an IPv4 peer; reviewers search for `10.1.2.3`.
 */
const clientIp = (ip: string | undefined) => {
  // A zone (fe80::1%eth0) names an interface of whichever host wrote it; Postgres' inet refuses it, and a
  // refused audit row would turn a request into a 503. The address without it is what a reviewer searches.
  const address = ip?.replace(/%[^%]*$/, '');
  return address && isIP(address) ? address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') : null;
};

const utf8 = new TextDecoder('utf-8', { fatal: true });
/**
 * Node reads header bytes as Latin-1. A client that sent UTF-8 (`＝1+1`) is stored as it sent it; bytes that
 * are not UTF-8 are kept as Latin-1, as read.
 */
function headerText(value: string | undefined): string | null {
  if (value === undefined) return null;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

function attemptFrom(req: Request, res: Response, action: AuditAction, apiKey?: string): AuditAttempt {
  return {
    requestId: context(res).requestId,
    action,
    actor: verifiedIdentity(res),
    apiKey: apiKey ?? allowed(req.params.apiKey, API_KEY_PATTERN),
    secretId: allowed(req.params.secretId, SECRET_ID_PATTERN),
    clientIp: clientIp(req.ip),
    userAgent: headerText(req.get('user-agent')),
    rotationId: allowed(req.params.rotationId, UUID),
  };
}

/** `apiKeyOf`: where the account comes from when the path has none (a delivery: the token's consumer). */
export const declareAttempt =
  (action: AuditAction, apiKeyOf?: (res: Response) => string): RequestHandler =>
  (req, res, next) => {
    (res as WithAttempt).locals[ATTEMPT] = attemptFrom(req, res, action, apiKeyOf?.(res));
    next();
  };

export const auditRefusedInput =
  (audit: AuditDeps): ErrorRequestHandler =>
  async (error, _req, res, next) => {
    const attempt = (res as WithAttempt).locals[ATTEMPT];
    try {
      if (attempt) await auditTrail(audit, attempt).refused(toAppError(error));
      next(error);
    } catch (auditError) {
      next(auditError);
    }
  };

/** The declared attempt, for a handler whose contract checks passed (so its api key is a valid one). */
export function declaredAttempt(res: Response): AuditAttempt & { apiKey: string } {
  const attempt = (res as WithAttempt).locals[ATTEMPT];
  if (!attempt || attempt.apiKey === null)
    throw new Error('declareAttempt and the contract checks did not run before this handler');
  return { ...attempt, apiKey: attempt.apiKey };
}

/** An audited route's handlers before its own: declare the attempt, check the input, audit a refusal. */
export const auditedRoute = (
  action: AuditAction,
  contract: RequestHandler[],
  audit: AuditDeps,
  apiKeyOf?: (res: Response) => string,
): Array<RequestHandler | ErrorRequestHandler> => [
  declareAttempt(action, apiKeyOf),
  ...contract,
  auditRefusedInput(audit),
];
