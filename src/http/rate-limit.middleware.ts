import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { AppError } from '../errors.ts';
import { context, verifiedIdentity } from './context.ts';

export interface RateLimits {
  readsPerMinute: number;
  writesPerMinute: number;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function limiter(limit: number, budget: 'reads' | 'writes', skip: (method: string) => boolean): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: budget,
    // Keyed per verified caller, not per IP: every caller arrives through the same SSO proxy address.
    keyGenerator: (_req, res) => `${budget}:${verifiedIdentity(res).email}`,
    skip: (req) => skip(req.method),
    handler: (_req, res, next) => {
      context(res).rateLimitedBy = budget;
      next(new AppError('rate-limited', 429, `Too many ${budget}; retry after the time in Retry-After.`));
    },
  });
}

/** Separate budgets, so a burst of reads never eats the much smaller budget for creates and revokes. */
export function rateLimits(limits: RateLimits): RequestHandler[] {
  return [
    limiter(limits.readsPerMinute, 'reads', (method) => WRITE_METHODS.has(method)),
    limiter(limits.writesPerMinute, 'writes', (method) => !WRITE_METHODS.has(method)),
  ];
}
