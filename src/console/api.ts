import createClient from 'openapi-fetch';
import type { components, paths } from './generated/api.d.ts';

/**
 * The console's only way to the API: a client generated from openapi-internal.yaml, same origin, so
 * the SSO proxy's identity (and nothing else) comes with every request.
 */
export type Me = components['schemas']['Me'];
export type Secret = components['schemas']['Secret'];
export type AuditEvent = components['schemas']['AuditEvent'];
export type AuditPage = components['schemas']['AuditEventPage'];
export type ChainReport = components['schemas']['ChainReport'];
type Problem = components['schemas']['Problem'];

export const api = createClient<paths>({ baseUrl: window.location.origin });

/** A refusal the user should read: the server's own words, and when to try again if it said. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly retryAfter: number | null;
  constructor(status: number, detail: string, retryAfter: number | null) {
    super(detail);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/** Unwraps an openapi-fetch result, turning any problem+json (or a bare failure) into an ApiProblem. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const problem = (error ?? {}) as Partial<Problem>;
  const retryAfter = Number(response.headers.get('Retry-After'));
  const detail = problem.detail ?? `The gateway answered ${response.status}.`;
  throw new ApiProblem(response.status, detail, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
}

export const describeProblem = (error: unknown): string => {
  if (!(error instanceof ApiProblem)) return 'The gateway could not be reached. Check your connection and try again.';
  const when = error.retryAfter === null ? '' : ` Try again in ${error.retryAfter} s.`;
  return `${error.message}${when}`;
};
