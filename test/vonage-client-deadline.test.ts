import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startVonageSandbox, type VonageSandbox } from '../src/dev/vonage-sandbox.ts';
import { AppError } from '../src/errors.ts';
import { createVonageClient } from '../src/vonage/client.ts';

/**
 * The client's own deadline, on its own: undici's header and body timeouts are set far beyond it here,
 * so only the call's deadline can end a slow call.
 */
let vonage: VonageSandbox;
beforeAll(async () => {
  vonage = await startVonageSandbox({ masterKey: 'abcd1234', masterSecret: 'Master5ecret' });
});
afterAll(async () => {
  await vonage.close();
});

const clientWith = (timeoutMs: number) =>
  createVonageClient({
    baseUrl: vonage.url,
    apiKey: 'abcd1234',
    apiSecret: 'Master5ecret',
    timeoutMs,
    headersTimeoutMs: 30_000,
    bodyTimeoutMs: 30_000,
    getRetries: 0,
  });

describe('the Vonage client deadline', () => {
  test('when Vonage is slower than the deadline, then the call fails as a 504 upstream-timeout, not with its late answer', async () => {
    vonage.setFault({ kind: 'slow', delayMs: 5_000 }, 1);
    const client = clientWith(300);
    try {
      const error = await client.list('abcd1234').catch((caught: unknown) => caught);

      // A timeout, not Vonage's answer: the call ended at the deadline, before the 5 s reply.
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'upstream-timeout', status: 504 });
      expect(vonage.received).toHaveLength(1);
    } finally {
      await client.close();
    }
  });
});
