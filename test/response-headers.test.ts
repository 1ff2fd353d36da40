import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadContract } from '../src/http/openapi.ts';
import { ACCOUNTS, everyAnswer } from './support/every-answer.ts';
import { type Gateway, startGateway } from './support/harness.ts';

/**
 * The full set of response headers of every kind of answer, names and values, against a written-down
 * expectation: a leaner serving path (issue #26) may change how headers are set, never which are sent.
 * Values that differ per request (ids, dates, lengths, remaining budgets) are checked by shape.
 */
const VARYING: Record<string, RegExp> = {
  'x-request-id': /^[\w-]{1,128}$/,
  date: /GMT$/,
  'content-length': /^\d+$/,
  connection: /^(close|keep-alive)$/,
  'keep-alive': /^timeout=\d+$/,
  ratelimit: /^"(reads|writes)"; r=\d+; t=\d+$/,
  // The partition key is a digest of the caller, so it differs per caller; the budget's name and size do not.
  'ratelimit-policy': /^"(reads|writes)"; q=1000; w=60; pk=:[\w+/=]+:$/,
  location: /^\/v1\/accounts\/\w+\/(secrets|rotations|consumers)\/[\w-]+$/,
};
let gateway: Gateway;
beforeAll(async () => {
  gateway = await startGateway({ subAccounts: Object.values(ACCOUNTS) });
});
afterAll(async () => {
  await gateway.close();
});

/** The headers, with each varying one replaced by its name once its value has the expected shape. */
function normalised(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => {
      const shape = VARYING[name];
      if (shape === undefined) return [name, value];
      return [name, shape.test(value) ? `<${name}>` : `unexpected: ${value}`];
    }),
  );
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
const ANSWERS = everyAnswer(() => gateway.http);

describe('the response headers of every kind of answer', () => {
  test.each(ANSWERS)(
    'when answering %s (%i), then exactly these headers are sent',
    async (_, status, call, expected) => {
      const res = await call();
      const headers = normalised(res.headers as Record<string, string>);
      const always = ['x-request-id', 'date', 'connection'].map((name) => [name, `<${name}>`]);
      const wanted = { ...expected, ...Object.fromEntries(always) };
      if (res.status !== 204 && headers['transfer-encoding'] === undefined)
        wanted['content-length'] = '<content-length>';

      expect(res.status).toBe(status);
      expect(Object.keys(headers).sort()).toEqual(Object.keys(wanted).sort());
      expect(headers).toEqual(wanted);
    },
  );

  test('when the contract has an operation, then its headers are checked here', () => {
    const paths = loadContract().document.paths as Record<string, Record<string, unknown>>;
    const operations = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item).flatMap((method) => (METHODS.has(method) ? [`${method.toUpperCase()} ${path}`] : [])),
    );
    const checked = new Set(ANSWERS.map(([label]) => label));

    expect(operations.filter((operation) => !checked.has(operation))).toEqual([]);
  });
});
