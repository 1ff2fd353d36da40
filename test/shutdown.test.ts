import { describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { serve } from '../src/server.ts';
import { admin, buildDeps, MASTER_KEY, until } from './support/harness.ts';

describe('graceful shutdown', () => {
  test('when shutdown starts during a create, then the create finishes, new connections are refused, and the pools close', async () => {
    const { deps, vonage } = await buildDeps();
    const running = await serve(deps, 0, 5_000);
    try {
      vonage.setFault({ kind: 'slow', delayMs: 200 });
      const inFlight = fetch(`${running.url}/v1/accounts/${MASTER_KEY}/secrets`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ secret: exampleSecret() }),
      });
      await until(() => vonage.received.length === 1);

      const stopped = running.shutdown();
      const res = await inFlight;
      await stopped;

      expect(res.status).toBe(201);
      await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
      await expect(sql`select 1`.execute(deps.db)).rejects.toThrow();
    } finally {
      await vonage.close();
    }
  });
});
