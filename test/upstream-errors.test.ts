import { describe, expect, test } from '@jest/globals';
import { vonageProblem } from '../src/dev/vonage-problems.ts';
import { toUpstreamError } from '../src/vonage/upstream-errors.ts';

const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers,
  text: JSON.stringify(body),
});

describe('toUpstreamError', () => {
  test.each([
    ['400 validation', 400, 'upstream-rejected', reply(400, vonageProblem('validation').body)],
    ['401 bad credentials', 502, 'upstream-error', reply(401, vonageProblem('unauthorized').body)],
    [
      '403 max secrets (old body)',
      409,
      'conflict',
      reply(403, {
        type: 'https://developer.nexmo.com/api-errors/account/secret-management#maximum-secrets-allowed',
        detail: "This account has reached maximum number of '2' allowed secrets",
      }),
    ],
    ['400 max secrets (spec status)', 409, 'conflict', reply(400, vonageProblem('add-excess-secret').body)],
    ['403 last secret', 409, 'conflict', reply(403, vonageProblem('delete-last-secret').body)],
    [
      '403 permissions',
      502,
      'upstream-error',
      reply(403, { type: 'https://developer.nexmo.com/api-errors#forbidden', title: 'Forbidden' }),
    ],
    ['404 unknown id', 404, 'not-found', reply(404, vonageProblem('invalid-id', 'x').body)],
    ['422 validation (api-standards page)', 400, 'upstream-rejected', reply(422, vonageProblem('validation').body)],
    ['429 throttled', 429, 'rate-limited', reply(429, vonageProblem('throttled').body, { 'retry-after': '15' })],
    ['500', 502, 'upstream-error', reply(500, vonageProblem('internal-error').body)],
    ['302 redirect', 502, 'upstream-error', reply(302, '')],
    ['400 with a body that is not JSON', 400, 'upstream-rejected', { status: 400, headers: {}, text: '<html>' }],
  ])('when Vonage answers %s, then we answer %i (%s)', (_label, status, code, upstream) => {
    const error = toUpstreamError(upstream);

    expect({ status: error.status, code: error.code, upstreamStatus: error.options.upstreamStatus }).toEqual({
      status,
      code,
      upstreamStatus: upstream.status,
    });
  });

  test('when Vonage refuses on a business rule, then its type and detail are kept', () => {
    const error = toUpstreamError(reply(403, vonageProblem('delete-last-secret').body));

    expect(error.options.type).toBe(
      'https://developer.nexmo.com/api-errors/account/secret-management#delete-last-secret',
    );
    expect(error.message).toMatch(/^Can not delete the last secret/);
  });

  test('when Vonage throttles with a malformed Retry-After, then the header is not passed on', () => {
    const error = toUpstreamError(
      reply(429, {}, { 'retry-after': '15\r\nSet-Cookie: x=1', 'x-ratelimit-limit': '30' }),
    );

    expect(error.options.upstreamThrottle).toEqual({ 'x-ratelimit-limit': '30' });
  });
});
