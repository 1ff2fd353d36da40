import { describe, expect, test } from '@jest/globals';
import express, { type Router } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { gated } from '../src/http/gated.ts';
import { strictRouter } from '../src/http/routes/strict-router.ts';

/** Routers shaped like ours: full paths, parameters, a mounted static directory, a route at /. */
function routers(): Router[] {
  const health = strictRouter();
  health.get('/healthz', (_req, res) => void res.send('health'));
  const secrets = strictRouter();
  secrets.get('/v1/accounts/:apiKey/secrets', (req, res) => void res.send(`list ${req.params.apiKey}`));
  secrets.delete('/v1/accounts/:apiKey/secrets/:id', (req, res) => void res.send(`revoke ${req.params.id}`));
  const accounts = strictRouter();
  accounts.get('/v1/accounts', (_req, res) => void res.send('accounts'));
  const site = strictRouter();
  site.get('/', (_req, res) => void res.send('root'));
  site.use('/console', (_req, res) => void res.send('console'));
  return [health, accounts, secrets, site];
}

function app(gate: boolean) {
  const built = express();
  for (const router of routers()) built.use(gate ? gated(router) : router);
  built.use((_req, res) => void res.status(404).send('none'));
  return built;
}

const segment = fc.constantFrom(
  'v1',
  'V1',
  'accounts',
  'secrets',
  'healthz',
  'console',
  'abcd1234',
  '',
  'x%2F',
  '..',
  'a.js',
);
/** Paths near the routes (each with its parameters filled in, a segment changed or added), and any others. */
const near = fc.tuple(
  fc.constantFrom(
    ['v1', 'accounts', 'k', 'secrets'],
    ['v1', 'accounts', 'k', 'secrets', 'id'],
    ['v1', 'accounts'],
    ['healthz'],
    [''],
    ['console', 'a.js'],
  ),
  fc.nat({ max: 5 }),
  segment,
  fc.constantFrom('key1', 'ab%20cd', 'secret-9'),
);
const paths = fc.oneof(
  near.map(([route, at, swap, param]) => route.map((s, i) => (i === at ? swap : s === 'k' || s === 'id' ? param : s))),
  fc.array(segment, { maxLength: 6 }),
);

describe('gated routers', () => {
  test('when any path is asked with any method, then the gated app answers exactly as the plain one', async () => {
    const [plain, lean] = [app(false), app(true)];
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(paths, fc.constantFrom('get', 'delete', 'head'), async (s, m) => {
        const path = `/${s.join('/')}`;
        const [a, b] = await Promise.all([request(plain)[m](path), request(lean)[m](path)]);
        expect([b.status, b.text]).toEqual([a.status, a.text]);
        if (a.status !== 404) answered += 1;
      }),
      { numRuns: 150 },
    );
    // Enough of the paths reached a route for a wrongly skipped router to show.
    expect(answered).toBeGreaterThan(20);
  });

  test('when a router has a layer mounted at /, then it is entered for every path (returned as it is)', () => {
    const everything = strictRouter();
    everything.use((_req, _res, next) => next());

    expect(gated(everything)).toBe(everything);
  });

  test('when a router is not case-sensitive, then it is entered for every path (a prefix test would miss /HEALTHZ)', () => {
    const loose = express.Router();
    loose.get('/healthz', (_req, res) => void res.send('health'));

    expect(gated(loose)).toBe(loose);
  });
});
