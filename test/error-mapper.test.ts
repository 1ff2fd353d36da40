import { Writable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import express from 'express';
import supertest from 'supertest';
import winston from 'winston';
import { AppError } from '../src/errors.ts';
import { sendProblem } from '../src/http/errors.middleware.ts';
import { createMetrics } from '../src/http/metrics.ts';
import { requestContext } from '../src/http/request-context.middleware.ts';
import { createLogger } from '../src/logger.ts';

/** The error middleware on its own: anything unexpected becomes a generic 500 and its details go only to the log. */
function appThatThrows(error: unknown) {
  const lines: string[] = [];
  const logger = createLogger(
    'debug',
    new winston.transports.Stream({
      stream: new Writable({
        write: (c, _e, done) => {
          lines.push(String(c));
          done();
        },
      }),
    }),
  );
  const app = express();
  app.use(requestContext(logger, createMetrics()));
  app.get('/boom', () => {
    throw error;
  });
  app.use(sendProblem(logger));
  return { http: supertest(app), lines };
}

describe('sendProblem', () => {
  test.each([
    ['an Error with internals in its message', new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2')],
    ['a thrown string', 'db password=hunter2'],
    ['a plain object', { detail: 'password=hunter2' }],
  ])(
    'when a handler throws %s, then 500 problem+json with a generic detail, and the log has the details',
    async (_label, error) => {
      const { http, lines } = appThatThrows(error);

      const res = await http.get('/boom');

      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toEqual({
        type: 'urn:vonage-gateway:problem:internal',
        title: 'Internal server error',
        status: 500,
        detail: 'An unexpected error occurred.',
        request_id: res.headers['x-request-id'],
      });
      expect(res.text).not.toContain('hunter2');
      expect(lines.some((line) => JSON.parse(line).message === 'request failed')).toBe(true);
    },
  );
});

describe('sendProblem, for what is not a fault', () => {
  const failures = (lines: string[]) =>
    lines.map((line) => JSON.parse(line)).filter((line) => line.level === 'error' && line.message === 'request failed');

  test('when the client closes the request mid-body, then it is a 400 and nothing is logged as an error', async () => {
    const aborted = Object.assign(new Error('request aborted'), { type: 'request.aborted', status: 400 });
    const { http, lines } = appThatThrows(aborted);

    const res = await http.get('/boom');

    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: 'urn:vonage-gateway:problem:invalid-request' });
    expect(failures(lines)).toEqual([]);
  });

  test('when the long-read cap refuses, then the 503 is logged as a warning with its own code, not as an internal error', async () => {
    const { http, lines } = appThatThrows(new AppError('busy', 503, 'Too many long reads.', { retryAfterSeconds: 5 }));

    const res = await http.get('/boom');
    const logged = lines.map((line) => JSON.parse(line)).filter((line) => line.message === 'request refused');

    expect(res.status).toBe(503);
    expect(failures(lines)).toEqual([]);
    expect(logged).toEqual([expect.objectContaining({ level: 'warn', code: 'busy' })]);
  });
});
