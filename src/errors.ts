/** The one error type of the service. The error middleware turns it into application/problem+json. */

export type ErrorCode =
  | 'invalid-request'
  | 'invalid-json'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'method-not-allowed'
  | 'unauthenticated'
  | 'forbidden'
  | 'cross-site-request'
  | 'busy'
  | 'not-found'
  | 'conflict'
  | 'rotation-conflict'
  | 'account-suspended'
  | 'consumer-conflict'
  | 'delivery-conflict'
  | 'delivery-too-soon'
  | 'delivery-off'
  | 'idempotency-in-flight'
  | 'idempotency-mismatch'
  | 'rate-limited'
  | 'upstream-rejected'
  | 'upstream-error'
  | 'upstream-timeout'
  | 'upstream-unavailable'
  | 'audit-unavailable'
  | 'idempotency-unavailable'
  | 'internal';

export interface InvalidParam {
  name: string;
  reason: string;
}

export interface AppErrorOptions {
  /** Overrides the problem `type` URI, e.g. to keep Vonage's own type on a business-rule refusal. */
  type?: string;
  invalidParams?: InvalidParam[];
  /** A machine-readable reason an operator can act on (identity failures). */
  reason?: string;
  /** On a 403: the policy action that was missing, and the account it was needed on. */
  action?: string;
  apiKey?: string;
  /** When the caller may try again; the HTTP layer turns it into Retry-After. */
  retryAfterSeconds?: number;
  /** The methods a path supports, for a 405; the HTTP layer turns it into Allow. */
  allow?: string;
  /** Vonage's own throttling figures, passed on as its headers (digits only). */
  upstreamThrottle?: Partial<
    Record<'retry-after' | 'x-ratelimit-limit' | 'x-ratelimit-remaining' | 'x-ratelimit-reset', string>
  >;
  /** Vonage's HTTP status when the error came from the upstream. */
  upstreamStatus?: number;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly options: AppErrorOptions;

  constructor(code: ErrorCode, status: number, detail: string, options: AppErrorOptions = {}) {
    super(detail, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.options = options;
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

/** The one factory for "we could not keep our promise to record this, so we did nothing": 503. */
export function unavailable(code: 'audit-unavailable' | 'idempotency-unavailable', cause: unknown): AppError {
  const what = code === 'audit-unavailable' ? 'The audit log' : 'The idempotency store';
  return new AppError(code, 503, `${what} cannot be written, so the request was not carried out.`, {
    cause,
    retryAfterSeconds: 5,
  });
}
