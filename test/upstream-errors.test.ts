import { describe, expect, test } from '@jest/globals';
import { vonageProblem } from '../src/dev/vonage-problems.ts';
import { toUpstreamError } from '../src/vonage/upstream-errors.ts';

const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => ({ status, headers, text: JSON.stringify(body) });

describe('toUpstreamError', () => {
  test.each([
    ['400 validation', reply(400, vonageProblem('validation').body), 400, 'upstream-rejected'],
    ['401 bad credentials', reply(401, vonageProblem('unauthorized').body), 502, 'upstream-error'],
    ['403 max secrets (old body)', reply(403, { type: 'https://developer.nexmo.com/api-errors/account/secret-management#maximum-secrets-allowed', detail: "This account has reached maximum number of '2' allowed secrets" }), 409, 'conflict'],
    ['400 max secrets (spec status)', reply(400, vonageProblem('add-excess-secret').body), 409, 'conflict'],
    ['403 last secret', reply(403, vonageProblem('delete-last-secret').body), 409, 'conflict'],
    ['403 permissions', reply(403, { type: 'https://developer.nexmo.com/api-errors#forbidden', title: 'Forbidden' }), 502, 'upstream-error'],
    ['404 unknown id', reply(404, vonageProblem('invalid-id', 'x').body), 404, 'not-found'],
    ['422 validation (api-standards page)', reply(422, vonageProblem('validation').body), 400, 'upstream-rejected'],
    ['429 throttled', reply(429, vonageProblem('throttled').body, { 'retry-after': '15' }), 429, 'rate-limited'],
    ['500', reply(500, vonageProblem('internal-error').body), 502, 'upstream-error'],
    ['302 redirect', reply(302, ''), 502, 'upstream-error'],
    ['400 with a body that is not JSON', { status: 400, headers: {}, text: '<html>' }, 400, 'upstream-rejected'],
  ])('when Vonage answers %s, then we answer %i (%s)', (_label, upstream, status, code) => {
    const error = toUpstreamError(upstream);

    expect({ status: error.status, code: error.code, upstreamStatus: error.options.upstreamStatus }).toEqual({ status, code, upstreamStatus: upstream.status });
  });

  test('when Vonage refuses on a business rule, then its type and detail are kept', () => {
    const error = toUpstreamError(reply(403, vonageProblem('delete-last-secret').body));

    expect(error.options.type).toBe('https://developer.nexmo.com/api-errors/account/secret-management#delete-last-secret');
    expect(error.message).toMatch(/^Can not delete the last secret/);
  });

  test('when Vonage throttles with a malformed Retry-After, then the header is not passed on', () => {
    const error = toUpstreamError(reply(429, {}, { 'retry-after': '15\r\nSet-Cookie: x=1', 'x-ratelimit-limit': '30' }));

    expect(error.options.headers).toEqual({ 'x-ratelimit-limit': '30' });
  });
});
