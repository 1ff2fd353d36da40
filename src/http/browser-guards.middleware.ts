import type { RequestHandler } from 'express';
import { AppError } from '../errors.ts';

/**
 * Guards for a service that browsers reach with the SSO cookie. A cross-site page can make a victim's
 * browser send simple requests; they are refused here, before the rate limiter and any audit, so they
 * neither spend the victim's budget nor write rows in the victim's name. Requests without Origin or
 * Sec-Fetch-Site (curl, server-side apps) are not browsers' cross-site requests and pass.
 */

const FOREIGN_FETCH_SITES = new Set(['cross-site', 'same-site']);

export function refuseCrossSiteRequests(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, _res, next) => {
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    if (origin === undefined && site === undefined) return next(); // curl, server-side callers: the common case
    if (origin !== undefined && allowed.has(origin)) return next(); // a listed app, cross-site by nature
    // req.protocol and req.host run the trusted-proxy check, so the own origin is worked out only when needed.
    const foreignSite = typeof site === 'string' && FOREIGN_FETCH_SITES.has(site.trim().toLowerCase());
    if (foreignSite || (origin !== undefined && origin !== `${req.protocol}://${req.host}`)) {
      throw new AppError('cross-site-request', 403, 'Requests from another site are not accepted.');
    }
    next();
  };
}

/** Answers carry identities, secret ids and audit rows: no browser or proxy cache may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  // Nothing is stored to revalidate, so no conditional request turns an answer into a 304 (see app.ts).
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** Bodies are at most 4 kB of JSON; a compressed one is only a way to reach the decompressor. */
export const identityEncodingOnly: RequestHandler = (req, _res, next) => {
  const encoding = req.get('content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== 'identity' && encoding !== '') {
    throw new AppError(
      'unsupported-media-type',
      415,
      'Request bodies must not be compressed (Content-Encoding: identity only).',
    );
  }
  next();
};
