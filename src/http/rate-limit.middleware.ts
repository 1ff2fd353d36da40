import type { RequestHandler } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import { AppError } from '../errors.ts';
import { context, verifiedIdentity } from './context.ts';

export interface RateLimits {
  readsPerMinute: number;
  writesPerMinute: number;
}

/** Makes one store per budget (express-rate-limit refuses a store shared between limiters). */
export type RateLimitStoreFactory = (prefix: string) => Store;

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function limiter(limit: number, budget: 'reads' | 'writes', storeFor?: RateLimitStoreFactory): RequestHandler {
  return rateLimit({
    store: storeFor?.(`${budget}:`),
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: budget,
    // Keyed per verified caller, not per IP: every caller arrives through the same SSO proxy address.
    keyGenerator: (_req, res) => verifiedIdentity(res).email,
    handler: (_req, res, next) => {
      context(res).rateLimitedBy = budget;
      next(new AppError('rate-limited', 429, `Too many ${budget}; retry after the time in Retry-After.`));
    },
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
