import type { Request, Response } from 'express';
import type { Identity } from '../identity/identity.ts';
import type { UpstreamObserver } from '../vonage/client.ts';

/** Per-request facts gathered on the way through, read by the access log, the audit and the error mapper. */
export interface RequestContext {
  requestId: string;
  startedAt: number;
  identity?: Identity;
  identityFailure?: string;
  upstream?: { status: number | null; durationMs: number; attempts: number };
  rateLimitedBy?: 'reads' | 'writes';
  /** No route matched, but the path is the contract's: its template, for the log and the metrics (405). */
  unmatchedRoute?: string;
}

export function context(res: Response): RequestContext {
  return res.locals.ctx as RequestContext;
}

export function verifiedIdentity(res: Response): Identity {
  const identity = context(res).identity;
  if (!identity) throw new Error('identity middleware did not run before this handler');
  return identity;
}

export const upstreamObserver =
  (res: Response): UpstreamObserver =>
  (call) => {
    context(res).upstream = call;
  };

/** The route as declared, never the raw path, so logs group by endpoint. */
export function routeTemplate(req: Request): string {
  // A contract path asked with a method it lacks (405) is labelled with its template too.
  return req.route?.path ?? (req.res && context(req.res).unmatchedRoute) ?? 'unmatched';
}
