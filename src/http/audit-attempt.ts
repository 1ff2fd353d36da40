import { isIP } from 'node:net';
import type { Request, Response } from 'express';
import type { Kysely } from 'kysely';
import { type AuditAttempt, type AuditOutcomeRecord, recordIntent, recordOutcome } from '../audit/recorder.ts';
import type { AuditAction } from '../audit/tables.ts';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { context, verifiedIdentity } from './context.ts';
import { API_KEY_PATTERN, SECRET_ID_PATTERN } from '../vonage/identifiers.ts';

export interface AuditDeps {
  db: Kysely<Database>;
  logger: Logger;
}

export interface Mutation {
  action: AuditAction;
  apiKey: string | null;
  secretId: string | null;
}

const CREATE_PATH = /^\/v1\/accounts\/([^/]*)\/secrets$/;
const REVOKE_PATH = /^\/v1\/accounts\/([^/]*)\/secrets\/([^/]*)$/;

/** Only values that pass the allow-lists are recorded; anything else is recorded as unknown (null). */
function safeSegment(segment: string | undefined, pattern: RegExp): string | null {
  if (segment === undefined) return null;
  try {
    const decoded = decodeURIComponent(segment);
    return pattern.test(decoded) ? decoded : null;
  } catch {
    return null;
  }
}

/** Which audited action a request attempts, worked out from the raw path so it works before routing too. */
export function mutationOf(req: Request): Mutation | null {
  const create = req.method === 'POST' ? CREATE_PATH.exec(req.path) : null;
  if (create) return { action: 'secret.create', apiKey: safeSegment(create[1], API_KEY_PATTERN), secretId: null };
  const revoke = req.method === 'DELETE' ? REVOKE_PATH.exec(req.path) : null;
  if (revoke) {
    return { action: 'secret.revoke', apiKey: safeSegment(revoke[1], API_KEY_PATTERN), secretId: safeSegment(revoke[2], SECRET_ID_PATTERN) };
  }
  return null;
}

/**
 * req.ip is Express's trusted-proxy resolution of X-Forwarded-For, which passes on whatever an
 * untrusted hop wrote (`=1+2`); only a real address is kept. `::ffff:10.1.2.3` is how a dual-stack
 * socket reports an IPv4 peer; reviewers search for `10.1.2.3`.
 */
const plainIp = (ip: string | undefined) => (ip && isIP(ip) ? ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') : null);

export function attemptFromRequest(req: Request, res: Response, mutation: Mutation): AuditAttempt {
  return {
    requestId: context(res).requestId,
    action: mutation.action,
    actor: verifiedIdentity(res),
    apiKey: mutation.apiKey,
    secretId: mutation.secretId,
    clientIp: plainIp(req.ip),
    userAgent: req.get('user-agent') ?? null,
  };
}

const outcomeOfFailure = (error: unknown) => (error instanceof AppError && error.status < 500 ? 'upstream_rejected' : 'upstream_failed');
const statusOfFailure = (error: unknown) => (error instanceof AppError ? error.status : 500);

/**
 * Intent first: the attempt is committed before `forward` runs, and a failed commit stops the request
 * with 503. The outcome is written after Vonage answers; if that write fails the attempt stays visibly
 * `incomplete` and the caller still gets Vonage's answer, because the change has already happened.
 */
export async function forwardAudited<T>(
  deps: AuditDeps,
  req: Request,
  res: Response,
  success: { status: number; createdSecretId?: (result: T) => string },
  forward: () => Promise<T>,
): Promise<T> {
  const ctx = context(res);
  const mutation = mutationOf(req);
  if (!mutation) throw new Error(`${req.method} ${req.path} is not an audited mutation`);
  const eventId = await recordIntent(deps.db, attemptFromRequest(req, res, mutation));
  ctx.auditEventId = eventId;
  const outcome = async (record: AuditOutcomeRecord) => {
    try {
      await recordOutcome(deps.db, eventId, mutation.apiKey, record);
    } catch (error) {
      ctx.auditFailure = 'outcome';
      deps.logger.error('audit outcome write failed; the attempt stays incomplete', { request_id: ctx.requestId, event_id: eventId, error: (error as Error).message });
    }
  };
  let result: T;
  try {
    result = await forward();
  } catch (error) {
    await outcome({ outcome: outcomeOfFailure(error), status: statusOfFailure(error), upstreamStatus: ctx.upstream?.status ?? null });
    throw error;
  }
  await outcome({ outcome: 'success', status: success.status, upstreamStatus: ctx.upstream?.status ?? null, createdSecretId: success.createdSecretId?.(result) });
  return result;
}
