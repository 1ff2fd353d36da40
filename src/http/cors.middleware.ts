import cors from 'cors';
import type { RequestHandler } from 'express';

/**
 * CORS for internal web apps on other origins, listed exactly in CORS_ALLOWED_ORIGINS (empty: no CORS
 * headers at all). A listed origin's preflight is answered 204 without identity; credentials (the SSO
 * cookie) are allowed; methods and request headers are exactly the ones the contract uses. An origin
 * that is not listed gets no Access-Control-Allow-* header, and its requests meet the cross-site guard.
 */

const METHODS = ['GET', 'POST', 'DELETE'];
const REQUEST_HEADERS = ['Content-Type', 'Idempotency-Key', 'X-Request-Id'];
const EXPOSED_HEADERS = [
  'X-Request-Id',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'Location',
  'Idempotent-Replayed',
];

export function corsForListedOrigins(allowedOrigins: readonly string[], jwtInAuthorization: boolean): RequestHandler {
  const allowed = new Set(allowedOrigins);
  const handler = cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: METHODS,
    allowedHeaders: jwtInAuthorization ? [...REQUEST_HEADERS, 'Authorization'] : REQUEST_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
    optionsSuccessStatus: 204,
    // An unlisted origin's preflight falls through to the cross-site guard (403) instead of a bare 204.
    preflightContinue: false,
  });
  // Without Origin there is nothing for CORS to do; most callers are servers and never send one.
  return (req, res, next) => (req.headers.origin === undefined ? next() : handler(req, res, next));
}
