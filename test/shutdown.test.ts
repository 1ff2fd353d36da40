import { describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';
import { serve } from '../src/server.ts';
import { admin, buildDeps, MASTER_KEY, until } from './support/harness.ts';

describe('graceful shutdown', () => {
  test('when SIGTERM handling starts, then readiness fails during the drain delay while liveness still answers', async () => {
    const { deps, vonage } = await buildDeps();
    const running = await serve(deps, { port: 0, shutdownTimeoutMs: 5_000, drainDelayMs: 500 });
    try {
      const readyBefore = await fetch(`${running.url}/readyz`);

      const stopped = running.shutdown();
      const readyDuring = await fetch(`${running.url}/readyz`);
      const liveDuring = await fetch(`${running.url}/healthz`);
      await stopped;

      expect(readyBefore.status).toBe(200);
      expect(readyDuring.status).toBe(503);
      expect(liveDuring.status).toBe(200);
    } finally {
      await vonage.close();
    }
  });

  test('when shutdown starts during a create, then the create finishes, new connections are refused, and the pools close', async () => {
    const { deps, vonage } = await buildDeps();
    const running = await serve(deps, { port: 0, shutdownTimeoutMs: 5_000 });
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
