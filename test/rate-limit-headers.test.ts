import { describe, expect, test } from '@jest/globals';
import express, { type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import request from 'supertest';
import { sendProblem } from '../src/http/errors.middleware.ts';
import { rateLimits } from '../src/http/rate-limit.middleware.ts';
import { createLogger } from '../src/logger.ts';

const LIMIT = 3;

/** What the identity middleware leaves for the limiter: a verified caller. */
const verified =
  (email: string): RequestHandler =>
  (_req, res, next) => {
    res.locals.ctx = { requestId: 'r-1', startedAt: 0, identity: { email, user: null, groups: [] } };
    next();
  };

const ok: RequestHandler = (_req, res) => void res.send('ok');

/** The gateway's limiter, and express-rate-limit writing its own draft-8 headers, for one caller. */
function apps(email: string) {
  const ours = express().use(verified(email), rateLimits({ readsPerMinute: LIMIT, writesPerMinute: 1 }), ok);
  ours.use(sendProblem(createLogger('error')));
  const library = express().use(
    rateLimit({
      windowMs: 60_000,
      limit: LIMIT,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      identifier: 'reads',
      keyGenerator: () => email,
    }),
    ok,
  );
  return { ours, library };
}

/** The rate-limit headers, with the seconds to reset masked: the two windows start a moment apart. */
const headersOf = (headers: Record<string, string>) => ({
  ratelimit: headers.ratelimit?.replace(/t=\d+$/, 't=<s>'),
  'ratelimit-policy': headers['ratelimit-policy'],
  'retry-after': headers['retry-after'] === undefined ? undefined : '<s>',
});

describe('GET /v1/… rate-limit headers', () => {
  test('when a caller goes past the budget, then each answer carries the headers express-rate-limit itself writes', async () => {
    const { ours, library } = apps(`headers-${process.pid}@example.com`);
    const answers: Array<[number, number, object, object]> = [];

    for (let i = 0; i <= LIMIT; i += 1) {
      const [a, b] = [await request(ours).get('/'), await request(library).get('/')];
      answers.push([a.status, b.status, headersOf(a.headers), headersOf(b.headers)]);
    }

    expect(answers.map(([status]) => status)).toEqual([200, 200, 200, 429]);
    for (const [status, libraryStatus, mine, theirs] of answers) {
      expect(status).toBe(libraryStatus);
      expect(mine).toEqual(theirs);
    }
    expect(answers.at(-1)?.[2]).toMatchObject({ ratelimit: '"reads"; r=0; t=<s>', 'retry-after': '<s>' });
  });
});
