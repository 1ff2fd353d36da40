import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { sql } from 'kysely';
import { exampleSecret, startVonageSandbox } from '../src/dev/vonage-sandbox.ts';
import { serve } from '../src/server.ts';
import { eventually } from './support/eventually.ts';
import { admin, MASTER_KEY, MASTER_SECRET, openGateway, TEST_POLICY, until } from './support/harness.ts';
import { freePort } from './support/pg-cluster.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { startTcpProxy } from './support/tcp-proxy.ts';

let scratch: ScratchDatabase;
beforeAll(async () => {
  scratch = await createScratchDatabase('shutdown');
});
afterAll(async () => {
  await scratch.drop();
});

describe('graceful shutdown', () => {
  test('when SIGTERM handling starts, then readiness fails during the drain delay while liveness still answers', async () => {
    const parts = await openGateway();
    const running = await serve(parts.gateway, { port: 0, shutdownTimeoutMs: 5_000, drainDelayMs: 500 });
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
      await parts.close();
    }
  });

  test('when shutdown starts during a create, then the create finishes, new connections are refused, and the pools close', async () => {
    const parts = await openGateway();
    const { vonage } = parts;
    const running = await serve(parts.gateway, { port: 0, shutdownTimeoutMs: 5_000 });
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
      await expect(sql`select 1`.execute(parts.gateway.app.db)).rejects.toThrow();
    } finally {
      await parts.close();
    }
  });
});

/** What a process holds open: sockets, timers, servers. */
const handles = () =>
  process
    .getActiveResourcesInfo()
    .filter((kind) => kind !== 'TTYWrap')
    .sort();

describe('buildGateway and close', () => {
  test('when the gateway is built, its jobs started, and closed 20 times, then no handle, timer or connection is left', async () => {
    const vonage = await startVonageSandbox({ masterKey: MASTER_KEY, masterSecret: MASTER_SECRET });
    const probe = await openGateway({ databaseUrl: scratch.gatewayUrl, vonage });
    const connections = async () =>
      Number(
        (
          await sql<{ n: string }>`select count(*) as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid()`.execute(probe.gateway.app.db)
        ).rows[0]?.n,
      );
    const openAndClose = async () => {
      const shared = { retrySharedAfterMs: 5_000 };
      const opened = await openGateway({ databaseUrl: scratch.gatewayUrl, vonage, sharedRateLimits: shared });
      opened.gateway.startJobs();
      await sql`select 1`.execute(opened.gateway.app.db);
      await opened.close();
    };
    try {
      // Before any gateway opened: only the probe's own connections. Taken after the warm-up, it counted the
      // warm-up's connections still closing on a loaded machine, and the later count could never equal it.
      const connectionsBefore = await connections();
      await openAndClose(); // modules loaded, the fake's listener settled
      // The warm-up's sockets may still be closing when the baseline is taken, so a leak is growth: no kind of
      // handle more numerous after 20 rounds than before them (one left per round would be 20 more).
      const counts = (kinds: string[]) => kinds.reduce((n, kind) => n.set(kind, (n.get(kind) ?? 0) + 1), new Map());
      const grown = (expected: string[]) => {
        const [now, then] = [counts(handles()), counts(expected)];
        return [...now].filter(([kind, n]) => n > (then.get(kind) ?? 0)).map(([kind]) => kind);
      };
      const settled = async (expected: string[]) => grown(expected).length === 0;
      const before = { handles: handles(), connections: connectionsBefore };

      for (let round = 0; round < 20; round += 1) await openAndClose();

      // A closed socket's peer (the fake's side) goes a moment after the close returns; a leaked handle never
      // does. Judged before the probe queries again: its own pool may be ending an idle socket by then.
      const patience = { what: 'handles back to before', timeoutMs: 15_000 };
      const left = await eventually(() => settled(before.handles), patience).then(
        () => [],
        () => grown(before.handles),
      );
      expect(left).toEqual([]);
      await eventually(async () => (await connections()) <= before.connections, { what: 'connections closed' });
    } finally {
      await probe.close();
      await vonage.close();
    }
  });
});

/** A SIEM that accepts connections and never answers: a POST to it hangs until its sender gives up. */
async function hangingSink() {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    connections: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('SIGTERM to npm start', () => {
  test('when Postgres is unreachable and the audit stream sink hangs, then the process still drains and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shutdown-'));
    writeFileSync(join(dir, 'policy.yaml'), TEST_POLICY);
    const vonage = await startVonageSandbox({ masterKey: MASTER_KEY, masterSecret: MASTER_SECRET });
    const database = new URL(scratch.gatewayUrl);
    const proxy = await startTcpProxy(database.hostname, Number(database.port));
    database.port = String(proxy.port);
    const sink = await hangingSink();
    const [port, metricsPort] = [await freePort(), await freePort()];
    const env = {
      PATH: process.env.PATH,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: database.toString(),
      VONAGE_API_KEY: MASTER_KEY,
      VONAGE_API_SECRET: MASTER_SECRET,
      VONAGE_BASE_URL: vonage.url,
      ACCESS_POLICY_FILE: join(dir, 'policy.yaml'),
      IDEMPOTENCY_HMAC_KEY: 'i'.repeat(40),
      AUDIT_STREAM_URL: sink.url,
      AUDIT_STREAM_SECRET: `whsec_${Buffer.from('s'.repeat(32)).toString('base64')}`,
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '3000',
    };
    const child = spawn(process.execPath, ['src/server.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (chunk) => (log += chunk));
    child.stderr.on('data', (chunk) => (log += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const ready = () =>
        fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
      await eventually(ready, { what: 'the server ready', timeoutMs: 20_000, everyMs: 100 });
      const created = await fetch(`http://127.0.0.1:${port}/v1/accounts/${MASTER_KEY}/secrets`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ secret: exampleSecret() }),
      });
      expect(created.status).toBe(201);
      // The replica leads the stream and its POST of that record now hangs at the sink.
      await eventually(() => sink.connections() > 0, { what: 'a POST at the sink', timeoutMs: 20_000 });

      proxy.setDown(true);
      child.kill('SIGTERM');
      const code = await exited;

      const lines = log
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
      const messages = lines.map((line: { message: string }) => line.message);
      expect(code).toBe(0);
      expect(messages).toContain('shutdown complete');
      expect(messages.slice(messages.indexOf('shutdown complete') + 1)).toEqual([]);
      expect(log).not.toMatch(/driver has already been destroyed/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await Promise.all([sink.close(), proxy.close(), vonage.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
