import type { NextFunction, Request, RequestHandler, Response } from 'express';

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as { then?: unknown } | null)?.then === 'function';

/**
 * Middleware run one after another as a single layer, in the order given: what Express's router does for
 * consecutive layers on one path, without its per-layer path match, parameter pass, URL trim and debug call
 * (each allocates, and the GET list path ran about twenty of them). As in Express, a step ends the series by
 * answering, by `next(error)`, by throwing or by rejecting; `next('route')` and `next('router')` go to the outer
 * router as they are.
 */
export function series(...steps: RequestHandler[]): RequestHandler {
  if (steps.length === 1 && steps[0]) return steps[0];
  return (req: Request, res: Response, done: NextFunction) => {
    let index = 0;
    const next = (signal?: unknown) => {
      const step = steps[index];
      index += 1;
      // As in Express, a falsy value is no signal: next(null) goes on.
      if (signal || step === undefined) return done(signal);
      run(step, req, res, next);
    };
    next();
  };
}

function run(step: RequestHandler, req: Request, res: Response, next: (signal?: unknown) => void): void {
  try {
    const result: unknown = step(req, res, next);
    if (isThenable(result)) result.then(undefined, (error: unknown) => next(error ?? new Error('Rejected promise')));
  } catch (error) {
    next(error);
  }
}
