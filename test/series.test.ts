import { describe, expect, test } from '@jest/globals';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { series } from '../src/http/series.ts';

/** Every way a middleware can end its turn. */
const BEHAVIOURS = [
  'next',
  'next(null)',
  'next later',
  'async next',
  'next(error)',
  'throw',
  'reject',
  'reject undefined',
  'answer',
  "next('route')",
] as const;
type Behaviour = (typeof BEHAVIOURS)[number];

/** A step that notes its turn in `res.locals.trail`, then ends it as told. */
function step(at: number, behaviour: Behaviour): RequestHandler {
  return async (_req, res, next) => {
    res.locals.trail = [...(res.locals.trail ?? []), at];
    const failure = new Error(`step ${at}`);
    switch (behaviour) {
      case 'next':
        return next();
      case 'next(null)':
        return next(null);
      case 'next later':
        return void setImmediate(next);
      case 'async next':
        await Promise.resolve();
        return next();
      case 'next(error)':
        return next(failure);
      case 'throw':
        throw failure;
      case 'reject':
        return Promise.reject(failure);
      case 'reject undefined':
        return Promise.reject(undefined);
      case 'answer':
        return void res.status(200).json({ answeredBy: at, trail: res.locals.trail });
      case "next('route')":
        return next('route');
    }
  };
}

type Mount = 'use' | 'route';

/**
 * The steps mounted as layers of their own or as one series, as middleware (`app.use`) or as a route's
 * handlers before its own, then a route, a fallback and an error handler.
 */
function app(behaviours: Behaviour[], mount: Mount, asSeries: boolean) {
  const steps = behaviours.map((behaviour, at) => step(at, behaviour));
  const mounted = asSeries ? [series(...steps)] : steps;
  const built = express();
  const route: RequestHandler = (_req, res) => void res.status(201).json({ trail: res.locals.trail ?? [] });
  if (mount === 'use' && mounted.length > 0) built.use('/v1', ...mounted);
  built.get('/v1/x', ...(mount === 'route' ? mounted : []), route);
  built.use((_req, res) => void res.status(404).json({ trail: res.locals.trail ?? [] }));
  const errors: ErrorRequestHandler = (error, _req, res, _next) =>
    void res.status(500).json({ error: String(error?.message ?? error), trail: res.locals.trail ?? [] });
  built.use(errors);
  return built;
}

describe('series(…steps)', () => {
  // next('route') means something only among a route's handlers (it leaves the route); as middleware, Express
  // reads it as next(), a series as leaving the series. None of ours calls it.
  const mounts = fc.oneof(
    fc.tuple(
      fc.constant<Mount>('use'),
      fc.array(fc.constantFrom(...BEHAVIOURS.filter((b) => b !== "next('route')")), { maxLength: 5 }),
    ),
    fc.tuple(fc.constant<Mount>('route'), fc.array(fc.constantFrom(...BEHAVIOURS), { maxLength: 5 })),
  );

  test('when any steps end their turns in any way, then the answer is the one of the same layers mounted one by one', async () => {
    await fc.assert(
      fc.asyncProperty(mounts, async ([mount, behaviours]) => {
        const [layered, combined] = await Promise.all([
          request(app(behaviours, mount, false)).get('/v1/x'),
          request(app(behaviours, mount, true)).get('/v1/x'),
        ]);

        expect({ status: combined.status, body: combined.body }).toEqual({
          status: layered.status,
          body: layered.body,
        });
      }),
      { numRuns: 150 },
    );
  });

  test('when a step throws, then no later step runs and the error handler answers', async () => {
    const res = await request(app(['next', 'throw', 'answer'], 'use', true)).get('/v1/x');

    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'step 1', trail: [0, 1] });
  });

  test('when it is given one step, then that step is the layer', () => {
    const only = step(0, 'next');

    expect(series(only)).toBe(only);
  });
});
