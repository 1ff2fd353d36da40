import type { RequestHandler, Response } from 'express';
import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { type Consumer, consumerByToken } from '../delivery/store.ts';
import { deliveryOff, isTokenShaped, tokenHmac } from '../delivery/tokens.ts';
import { AppError } from '../errors.ts';
import { context } from './context.ts';
import type { Metrics } from './metrics.ts';

/**
 * The delivery route's own identity: a live delivery token (`Authorization: Bearer vsgd_…`), and nothing
 * else. It names exactly one consumer, who becomes the actor `consumer:<name>`; the token is no identity
 * for any other route (the SSO identity runs there, and never looks at it).
 */
const CONSUMER = Symbol('delivery consumer');
type WithConsumer = Response & { locals: { [CONSUMER]?: Consumer } };

const BEARER = /^bearer +(\S+)$/i;

const refused = () =>
  new AppError('unauthenticated', 401, 'The delivery token is missing, unknown, revoked or expired.', {
    reason: 'delivery_token',
  });

export function deliveryToken(
  db: Kysely<Database>,
  tokens: { hmacKey: string } | undefined,
  metrics: Metrics,
): RequestHandler {
  return async (req, res, next) => {
    if (!tokens) throw deliveryOff();
    const token = BEARER.exec(req.get('authorization') ?? '')?.[1] ?? '';
    const consumer = isTokenShaped(token) ? await consumerByToken(db, tokenHmac(tokens.hmacKey, token)) : undefined;
    if (!consumer) {
      metrics.deliveries.inc({ consumer: '', outcome: 'unauthenticated' });
      context(res).identityFailure = 'delivery_token';
      throw refused();
    }
    context(res).identity = { email: `consumer:${consumer.name}`, user: null, groups: [] };
    (res as WithConsumer).locals[CONSUMER] = consumer;
    next();
  };
}

export function tokenConsumer(res: Response): Consumer {
  const consumer = (res as WithConsumer).locals[CONSUMER];
  if (!consumer) throw new Error('deliveryToken did not run before this handler');
  return consumer;
}
