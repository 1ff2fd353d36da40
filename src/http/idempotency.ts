import type { Request, Response } from 'express';
import { recordSettledAttempt } from '../audit/recorder.ts';
import { AppError } from '../errors.ts';
import { claimKey, completeKey, fingerprint, releaseKey, type StoredResponse } from '../idempotency/store.ts';
import { type AuditDeps, attemptFromRequest, mutationOf } from './audit-attempt.ts';
import { context, verifiedIdentity } from './context.ts';

export interface IdempotencyDeps extends AuditDeps {
  /** Keys the request fingerprints; exists only in the service's config. */
  idempotencyHmacKey: string;
}

function send(res: Response, response: StoredResponse): void {
  if (response.location) res.location(response.location);
  res.status(response.status).json(response.body);
}

const unavailable = (cause: unknown) =>
  cause instanceof AppError ? cause : new AppError('audit-unavailable', 503, 'The request cannot be recorded right now, so it was not carried out.', { cause, headers: { 'Retry-After': '5' } });

async function replay(deps: IdempotencyDeps, req: Request, res: Response, response: StoredResponse): Promise<void> {
  const mutation = mutationOf(req);
  if (!mutation) throw new Error(`${req.method} ${req.path} is not an audited mutation`);
  const createdSecretId = (response.body as { id?: unknown } | null)?.id;
  await recordSettledAttempt(deps.db, attemptFromRequest(req, res, mutation), {
    outcome: 'replayed',
    status: response.status,
    upstreamStatus: null,
    createdSecretId: typeof createdSecretId === 'string' ? createdSecretId : null,
  });
  context(res).auditEventId = 'replayed';
  res.set('Idempotent-Replayed', 'true');
  send(res, response);
}

/**
 * Runs `perform` at most once per caller and Idempotency-Key (when the header is sent): a repeat of
 * the same request replays the stored answer and is audited as `replayed`. Only successes are stored;
 * after a failure the key is released, since the caller must be able to retry it.
 */
export async function respondIdempotently(deps: IdempotencyDeps, req: Request, res: Response, request: unknown[], perform: () => Promise<StoredResponse>): Promise<void> {
  const key = req.get('idempotency-key');
  if (key === undefined) return send(res, await perform());
  const caller = verifiedIdentity(res).email;
  const claim = await claimKey(deps.db, caller, key, fingerprint(deps.idempotencyHmacKey, request)).catch((error: unknown) => {
    throw unavailable(error);
  });
  if (claim.kind === 'replay') return replay(deps, req, res, claim.response);
  let response: StoredResponse;
  try {
    response = await perform();
  } catch (error) {
    await releaseKey(deps.db, caller, key).catch(() => undefined); // an unreleased key expires its lease by itself
    throw error;
  }
  await completeKey(deps.db, caller, key, response).catch((error: unknown) => {
    deps.logger.error('idempotency key not completed; a retry will be refused until its lease ends', { request_id: context(res).requestId, error: (error as Error).message });
  });
  send(res, response);
}
