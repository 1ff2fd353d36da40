import type { RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import type { IdentityProvider } from '../identity/identity.ts';
import { context } from './context.ts';

/** Runs the configured identity provider; nothing under /v1 proceeds without a verified identity. */
export function authenticate(provider: IdentityProvider): RequestHandler {
  return async (req, res, next) => {
    try {
      context(res).identity = await provider({
        peerAddress: req.socket.remoteAddress,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
      });
      next();
    } catch (error) {
      if (error instanceof AppError) context(res).identityFailure = error.options.reason ?? error.code;
      throw error;
    }
  };
}
