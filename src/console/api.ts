import createClient from 'openapi-fetch';
import type { components, paths } from './generated/api.d.ts';

/**
 * The console's only way to the API: a client generated from openapi-internal.yaml, same origin, so
 * the SSO proxy's identity (and nothing else) comes with every request.
 */
export type Me = components['schemas']['Me'];
export type Secret = components['schemas']['Secret'];
export type AccountSummary = components['schemas']['AccountSummary'];
export type SecretAgeReport = components['schemas']['SecretAgeReport'];
export type AuditEvent = components['schemas']['AuditEvent'];
export type AuditPage = components['schemas']['AuditEventPage'];
export type ChainReport = components['schemas']['ChainReport'];
export type Consumer = components['schemas']['Consumer'];
type Problem = components['schemas']['Problem'];

export const api = createClient<paths>({ baseUrl: window.location.origin });

/** A refusal the user should read: the server's own words, and when to try again if it said. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly retryAfter: number | null;
  /** What the server said was wrong with each field (invalid_params), to show beside its own words. */
  readonly invalidParams: Array<{ name: string; reason: string }>;
  constructor(
    status: number,
    detail: string,
    retryAfter: number | null,
    invalidParams: Array<{ name: string; reason: string }> = [],
  ) {
    super(detail);
    this.status = status;
    this.retryAfter = retryAfter;
    this.invalidParams = invalidParams;
  }
}

/** Only these can succeed on a second try: a limit, a dependency down, a timeout, or no answer at all. */
export const isRetryable = (error: unknown) =>
  !(error instanceof ApiProblem) || [429, 502, 503, 504].includes(error.status);

/** Unwraps an openapi-fetch result, turning any problem+json (or a bare failure) into an ApiProblem. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const problem = (error ?? {}) as Partial<Problem>;
  const retryAfter = Number(response.headers.get('Retry-After'));
  const detail = problem.detail ?? `The gateway answered ${response.status}.`;
  const wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null;
  throw new ApiProblem(response.status, detail, wait, problem.invalid_params ?? []);
}

export const describeProblem = (error: unknown): string => {
  if (!(error instanceof ApiProblem)) return 'The gateway could not be reached. Check your connection and try again.';
  if (error.status === 401) {
    return `${error.message} The request did not come through the company sign-in (SSO) proxy, or your sign-in has expired: reload the page to sign in again.`;
  }
  const fields = error.invalidParams.map((param) => `${param.name} ${param.reason}`).join('; ');
  const when = error.retryAfter === null ? '' : ` Try again in ${error.retryAfter} s.`;
  return `${error.message}${fields ? ` ${fields}.` : ''}${when}`;
};
