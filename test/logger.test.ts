import { Writable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import winston from 'winston';
import { createLogger, type RequestLine } from '../src/logger.ts';

/** The request line from its prepared template says exactly what winston's own info line would. */
function captured(level = 'info') {
  const lines: string[] = [];
  const stream = new Writable({
    write: (chunk, _encoding, done) => {
      lines.push(String(chunk).trimEnd());
      done();
    },
  });
  return { lines, logger: createLogger(level, new winston.transports.Stream({ stream })) };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));
const withoutTime = (line: string) => line.replace(/"timestamp":"[^"]+"/, '"timestamp":"T"');

const lineArb: fc.Arbitrary<RequestLine> = fc.record(
  {
    request_id: fc.string({ maxLength: 40 }),
    actor: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
    identity_failure: fc.constantFrom('untrusted_peer', 'header_variant'),
    method: fc.constantFrom('GET', 'POST', 'DELETE'),
    route: fc.string({ maxLength: 60 }),
    status: fc.integer({ min: 100, max: 599 }),
    duration_ms: fc.double({ min: 0, max: 1e6, noNaN: true }),
    upstream_status: fc.option(fc.integer({ min: 100, max: 599 }), { nil: null }),
    upstream_duration_ms: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true }), { nil: null }),
    upstream_attempts: fc.integer({ min: 1, max: 3 }),
  },
  {
    requiredKeys: [
      'request_id',
      'actor',
      'method',
      'route',
      'status',
      'duration_ms',
      'upstream_status',
      'upstream_duration_ms',
    ],
  },
);

describe('the request log line', () => {
  test('when any request is logged, then the prepared line is byte for byte the line winston would write', async () => {
    await fc.assert(
      fc.asyncProperty(lineArb, async (fields) => {
        const prepared = captured();
        const viaWinston = captured();
        prepared.logger.request(fields);
        viaWinston.logger.info('request', { ...fields });
        await settled();

        expect(prepared.lines.map(withoutTime)).toEqual(viaWinston.lines.map(withoutTime));
      }),
      { numRuns: 300 },
    );
  });

  test('when the level is warn, then no request line is written', async () => {
    const { lines, logger } = captured('warn');
    logger.request({
      request_id: 'r',
      actor: null,
      method: 'GET',
      route: '/healthz',
      status: 200,
      duration_ms: 1,
      upstream_status: null,
      upstream_duration_ms: null,
    });
    await settled();

    expect(lines).toEqual([]);
  });
});
