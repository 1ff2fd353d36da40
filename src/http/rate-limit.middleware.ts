import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { type RateLimitInfo, rateLimit, type Store } from 'express-rate-limit';
import { AppError } from '../errors.ts';
import { context, verifiedIdentity } from './context.ts';

export interface RateLimits {
  readsPerMinute: number;
  writesPerMinute: number;
}

/** Makes one store per budget (express-rate-limit refuses a store shared between limiters). */
export type RateLimitStoreFactory = (prefix: string) => Store;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const WINDOW_MS = 60_000;
const KEYS_REMEMBERED = 10_000;

/**
 * `RateLimit` and `RateLimit-Policy` (IETF draft 8) exactly as express-rate-limit writes them, except that
 * each caller's partition key (a SHA-256 of the caller) is worked out once, not on every request.
 */
function draft8Headers(budget: 'reads' | 'writes') {
  const partitionKeys = new Map<string, string>();
  const partitionKey = (key: string) => {
    let known = partitionKeys.get(key);
    if (known === undefined) {
      known = Buffer.from(createHash('sha256').update(key).digest('hex').slice(0, 12)).toString('base64');
      if (partitionKeys.size >= KEYS_REMEMBERED) partitionKeys.clear();
      partitionKeys.set(key, known);
    }
    return known;
  };
  return (res: Response, info: RateLimitInfo) => {
    const resetSeconds = secondsUntil(info.resetTime);
    res.setHeader('RateLimit', `"${budget}"; r=${info.remaining}; t=${resetSeconds}`);
    res.setHeader(
      'RateLimit-Policy',
      `"${budget}"; q=${info.limit}; w=${WINDOW_MS / 1000}; pk=:${partitionKey(info.key)}:`,
    );
    return resetSeconds;
  };
}

const secondsUntil = (resetTime: Date | undefined) =>
  resetTime ? Math.max(0, Math.ceil((resetTime.getTime() - Date.now()) / 1000)) : WINDOW_MS / 1000;

const infoOf = (req: Request) => (req as Request & { rateLimit: RateLimitInfo }).rateLimit;

function limiter(limit: number, budget: 'reads' | 'writes', storeFor?: RateLimitStoreFactory): RequestHandler {
  const setHeaders = draft8Headers(budget);
  const limited = rateLimit({
    store: storeFor?.(`${budget}:`),
    windowMs: WINDOW_MS,
    limit,
    // Written below, by draft8Headers; Retry-After comes from the error, like every other.
    standardHeaders: false,
    legacyHeaders: false,
    identifier: budget,
    // Keyed per verified caller, not per IP: every caller arrives through the same SSO proxy address.
    keyGenerator: (_req, res) => verifiedIdentity(res).email,
    handler: (req, res, next) => {
      context(res).rateLimitedBy = budget;
      const retryAfterSeconds = setHeaders(res, infoOf(req));
      const detail = `Too many ${budget}; retry after the time in Retry-After.`;
      next(new AppError('rate-limited', 429, detail, { retryAfterSeconds }));
    },
  });
  return (req, res, next) =>
    limited(req, res, (error?: unknown) => {
      if (error === undefined) setHeaders(res, infoOf(req));
      next(error);
    });
}

/**
 * Separate budgets, so a burst of reads never eats the much smaller budget for creates and revokes.
 * Each request runs only its own budget's limiter.
 */
export function rateLimits(limits: RateLimits, storeFor?: RateLimitStoreFactory): RequestHandler {
  const reads = limiter(limits.readsPerMinute, 'reads', storeFor);
  const writes = limiter(limits.writesPerMinute, 'writes', storeFor);
  return (req, res, next) => (WRITE_METHODS.has(req.method) ? writes : reads)(req, res, next);
}
