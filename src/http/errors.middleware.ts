import type { ErrorRequestHandler, Request } from 'express';
import { AppError, type ErrorCode } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { context } from './context.ts';

const TITLES: Record<ErrorCode, string> = {
  'invalid-request': 'Invalid request',
  'invalid-json': 'Malformed JSON body',
  'payload-too-large': 'Request body too large',
  'unsupported-media-type': 'Unsupported media type',
  'method-not-allowed': 'Method not allowed',
  unauthenticated: 'Not authenticated',
  forbidden: 'Forbidden',
  'cross-site-request': 'Cross-site request refused',
  busy: 'Too many long reads',
  'not-found': 'Not found',
  conflict: 'Refused by Vonage',
  'rotation-conflict': 'Refused by the gateway: rotation state',
  'account-suspended': 'Refused by the gateway: account suspended',
  'consumer-conflict': 'Refused by the gateway: consumer',
  'delivery-conflict': 'Refused by the gateway: held secret unknown',
  'delivery-too-soon': 'Refused by the gateway: delivered recently',
  'delivery-off': 'Delivery not configured',
  'idempotency-in-flight': 'Request already in progress',
  'idempotency-mismatch': 'Idempotency key reused',
  'rate-limited': 'Too many requests',
  'upstream-rejected': 'Rejected by Vonage',
  'upstream-error': 'Bad gateway',
  'upstream-timeout': 'Gateway timeout',
  'upstream-unavailable': 'Vonage unavailable',
  'audit-unavailable': 'Audit log unavailable',
  'idempotency-unavailable': 'Idempotency store unavailable',
  internal: 'Internal server error',
};

const BODY_PARSER_ERRORS: Record<string, [ErrorCode, number, string]> = {
  'entity.parse.failed': ['invalid-json', 400, 'The request body is not valid JSON.'],
  'entity.too.large': ['payload-too-large', 413, 'The request body is too large.'],
  'encoding.unsupported': ['unsupported-media-type', 415, 'The request body encoding is not supported.'],
  'charset.unsupported': ['unsupported-media-type', 415, 'The request body charset is not supported.'],
  // The client went away mid-body: its fault, not ours, and nobody is left to read the answer.
  'request.aborted': ['invalid-request', 400, 'The client closed the request before its body arrived.'],
};

/**
 * Express's router could not percent-decode a path parameter (`/v1/accounts/%zz/secrets`). It marks the
 * URIError with status 400; its message quotes the raw path, so it is not reused.
 */
const isUndecodablePath = (error: unknown) =>
  error instanceof URIError && (error as { status?: unknown }).status === 400;

/** Everything thrown becomes an AppError. Parser messages are never reused: they can quote the body. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isUndecodablePath(error)) {
    return new AppError('invalid-request', 400, 'The request path is not valid percent-encoding.', {
      invalidParams: [{ name: 'path', reason: 'has a malformed percent-escape' }],
    });
  }
  const { type } = (error ?? {}) as { type?: string };
  const parserError = type === undefined ? undefined : BODY_PARSER_ERRORS[type];
  if (parserError) return new AppError(parserError[0], parserError[1], parserError[2]);
  return new AppError('internal', 500, 'An unexpected error occurred.', { cause: error });
}

/** A long-read cap, and delivery left off by configuration, are refusals we chose, not faults: warnings. */
const EXPECTED_5XX = new Set<ErrorCode>(['busy', 'delivery-off']);

function logError(logger: Logger, req: Request, error: AppError, requestId: string): void {
  if (error.status < 500) return;
  const cause = error.options.cause as { name?: string; message?: string; code?: string } | undefined;
  const details = {
    request_id: requestId,
    code: error.code,
    method: req.method,
    cause: cause ? { name: cause.name, message: cause.message, code: cause.code } : undefined,
  };
  if (EXPECTED_5XX.has(error.code)) logger.warn('request refused', details);
  else logger.error('request failed', details);
}

/** The only place an error's typed fields become HTTP headers. */
function headersOf({ options }: AppError): Record<string, string> {
  return {
    ...options.upstreamThrottle,
    ...(options.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(options.retryAfterSeconds) }),
    ...(options.allow === undefined ? {} : { Allow: options.allow }),
  };
}

/** The one place errors become responses: RFC 9457 problem+json, with internals only in the log. */
export function sendProblem(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    const ctx = context(res);
    logError(logger, req, appError, ctx.requestId);
    // Too late for a problem body (a streamed export failed midway): abort, so the client sees an error,
    // not a short file.
    if (res.headersSent) return res.destroy();
    const { type, invalidParams, reason, action, apiKey } = appError.options;
    res.set(headersOf(appError));
    res
      .status(appError.status)
      .type('application/problem+json')
      .json({
        type: type ?? `urn:vonage-gateway:problem:${appError.code}`,
        title: TITLES[appError.code],
        status: appError.status,
        detail: appError.message,
        request_id: ctx.requestId,
        ...(reason ? { reason } : {}),
        ...(action ? { action } : {}),
        ...(apiKey ? { api_key: apiKey } : {}),
        ...(invalidParams ? { invalid_params: invalidParams } : {}),
      });
  };
}
