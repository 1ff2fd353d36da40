import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

type Step = readonly [name: string, value: string | undefined];

/** A CSP directive given as a function is worked out per request (a nonce): such headers cannot be prepared. */
function perRequestDirectives(options: HelmetOptions): boolean {
  const csp = options.contentSecurityPolicy;
  const directives = typeof csp === 'object' ? Object.values(csp.directives ?? {}) : [];
  return directives.some(
    (value) => typeof value === 'function' || (Array.isArray(value) && value.some((v) => typeof v === 'function')),
  );
}

/** What helmet does to a response: with static options it only sets and removes headers, the same each time. */
function recorded(options: HelmetOptions): Step[] {
  if (perRequestDirectives(options)) throw new Error('a CSP directive computed per request cannot be prepared');
  const steps: Step[] = [];
  const response = {
    setHeader: (name: string, value: string) => steps.push([name, value]),
    removeHeader: (name: string) => steps.push([name, undefined]),
  };
  let finished = false;
  helmet(options)({} as never, response as never, (error?: unknown) => {
    if (error) throw error;
    finished = true;
  });
  // helmet runs synchronously and reads nothing of the request; were that ever to change, refuse to start.
  if (!finished) throw new Error('helmet did not finish synchronously; its headers cannot be prepared');
  return steps;
}

/**
 * helmet's headers, worked out once by running helmet at start, then set on each answer as a list: the same
 * headers in the same order, without helmet's chain of twelve middleware on every request (issue #26).
 * test/security-headers.test.ts compares the two.
 */
export function securityHeaders(options: HelmetOptions): RequestHandler {
  const steps = recorded(options);
  return (_req, res, next) => {
    for (const [name, value] of steps) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    next();
  };
}
