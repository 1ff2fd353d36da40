import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type AddressInfo, connect } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runAuditCli } from '../src/cli/audit.ts';
import { createDatabase } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { admin, asCaller, type Gateway, MASTER_KEY, reviewer, startGateway, TEST_POLICY } from './support/harness.ts';
import { freePort } from './support/pg-cluster.ts';
import { eventually } from './support/eventually.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { seedAuditEvents } from './support/seed-audit.ts';
import { captured } from './support/cli.ts';

const EVENTS = 100_000;
let scratch: ScratchDatabase;
let gateway: Gateway;
let server: Server;
beforeAll(async () => {
  scratch = await createScratchDatabase('export');
  const seeder = createDatabase({
    connectionString: scratch.superuserUrl,
    logger: createLogger('error'),
    statementTimeoutMs: 0,
  });
  await seedAuditEvents(seeder, EVENTS);
  await seeder.destroy();
  gateway = await startGateway({ databaseUrl: scratch.gatewayUrl });
  server = gateway.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await gateway.close();
  await scratch.drop();
});

/** A real collection before each sample, so the figure is what is retained, not garbage awaiting collection. */
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
const retainedHeap = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

/** Reads the export chunk by chunk, discarding it, and samples this process's retained heap every ~2 MB (the server runs here too). */
function download(
  path: string,
  accept: string,
): Promise<{ status: number; lines: number; firstLine: string; heapGrowthMb: number; bytes: number }> {
  const baseline = retainedHeap();
  let peak = baseline;
  let nextSample = 2 ** 21;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: (server.address() as AddressInfo).port, path, headers: { ...reviewer, accept } },
      (res) => {
        let lines = 0;
        let bytes = 0;
        let firstLine = '';
        res.on('data', (chunk: Buffer) => {
          if (bytes === 0) firstLine = chunk.toString('utf8').split('\n')[0] ?? '';
          bytes += chunk.length;
          for (const byte of chunk) if (byte === 10) lines += 1;
          if (bytes >= nextSample) {
            peak = Math.max(peak, retainedHeap());
            nextSample += 2 ** 21;
          }
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, lines, firstLine, bytes, heapGrowthMb: (peak - baseline) / 2 ** 20 }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('GET /v1/audit-events as an export', () => {
  test(`when ${EVENTS} events are exported as CSV, then every row streams and the heap stays flat`, async () => {
    const result = await download('/v1/audit-events', 'text/csv');

    expect(result.status).toBe(200);
    expect(result.firstLine.trim()).toBe(
      'id,occurred_at,request_id,action,actor_email,actor_user,actor_groups,api_key,secret_id,outcome,status,upstream_status,client_ip,user_agent,rotation_id',
    );
    expect(result.lines).toBe(EVENTS + 1);
    expect(result.bytes).toBeGreaterThan(10 * 2 ** 20);
    expect(result.heapGrowthMb).toBeLessThan(8); // the export is larger than 10 MB; holding its rows would retain far more
  }, 120_000);

  test('when NDJSON is asked for with filters, then only matching events stream, one JSON object per line', async () => {
    const result = await download(
      '/v1/audit-events?actor=actor10%40example.com&outcome=denied',
      'application/x-ndjson',
    );

    expect(result.status).toBe(200);
    expect(JSON.parse(result.firstLine)).toMatchObject({ actor: { email: 'actor10@example.com' }, outcome: 'denied' });
    expect(result.lines).toBe(EVENTS / 200); // actor10 owns ids 10, 210, …, and every id divisible by 10 was denied
  }, 60_000);

  test.each([
    ['starts like a formula', '=HYPERLINK("http://evil")', `"'=HYPERLINK(""http://evil"")"`],
    // A spreadsheet whose list separator is ; (de-DE, fr-FR) would split an unquoted cell into formulas.
    ['holds a semicolon', 'agent;=1+1;@SUM(A1)', ',"agent;=1+1;@SUM(A1)",'],
  ])('when a caller-controlled cell %s, then the CSV defuses and quotes it', async (_label, agent, cell) => {
    await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('User-Agent', agent)
      .send({ secret: 'bad' })
      .expect(400);

    const res = await gateway.http
      .get('/v1/audit-events')
      .query({ actor: 'admin@example.com' })
      .set(reviewer)
      .set('Accept', 'text/csv');

    expect(res.text).toContain(cell);
  });
});

describe('GET /v1/audit-events as a download, against slow readers', () => {
  const otherReviewer = asCaller('other-reviewer@example.com', 'security-reviewers');
  const port = () => (server.address() as AddressInfo).port;

  interface Stalled {
    status: number;
    /** Reads the rest to the end. */
    body(): Promise<string>;
    /** Reads `count` more chunks, `pauseMs` apart; resolves with how many came before the connection ended. */
    trickle(count: number, pauseMs: number): Promise<number>;
    closed: Promise<void>;
    abort(): void;
  }

  /**
   * Starts an export and reads no more than its first chunk: the client a `curl --limit-rate` at its worst
   * would be. A raw socket, so nothing reads ahead on its behalf.
   */
  function stalledExport(headers: Record<string, string>, at = port()) {
    return new Promise<Stalled>((resolve, reject) => {
      const socket = connect(at, '127.0.0.1');
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
      const lines = Object.entries({ ...headers, host: 'gateway', connection: 'close' }).map(([k, v]) => `${k}: ${v}`);
      socket.once('error', (error) => (socket.destroyed ? undefined : reject(error)));
      socket.write(`GET /v1/audit-events?format=csv HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      socket.once('data', (first: Buffer) => {
        socket.pause();
        const body = async () => {
          let text = first.toString();
          socket.resume();
          for await (const chunk of socket) text += chunk;
          return text.slice(text.indexOf('\r\n\r\n') + 4);
        };
        const trickle = async (count: number, pauseMs: number) => {
          let read = 0;
          while (read < count && !socket.readableEnded && !socket.destroyed) {
            if (socket.read() !== null) read += 1;
            else await new Promise((next) => setTimeout(next, pauseMs));
          }
          return read;
        };
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(first.toString())?.[1]);
        resolve({ status, body, trickle, closed, abort: () => socket.destroy() });
      });
    });
  }

  test('when one reviewer holds an export open, then their second gets 503 and another reviewer still gets theirs', async () => {
    const first = await stalledExport(reviewer);
    try {
      const second = await stalledExport(reviewer);
      const other = await stalledExport(otherReviewer);
      other.abort();

      expect(first.status).toBe(200);
      expect(second.status).toBe(503);
      expect(JSON.parse(await second.body())).toMatchObject({ detail: expect.stringMatching(/already have/) });
      expect(other.status).toBe(200);
    } finally {
      first.abort();
    }
  });

  test('when a client takes nothing for EXPORT_IDLE_TIMEOUT_SECONDS, then the export is stopped and the slot is free again', async () => {
    const idle = await startGateway({ databaseUrl: scratch.gatewayUrl, exportIdleTimeoutSeconds: 1 });
    const idleServer = idle.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => idleServer.once('listening', resolve));
    const idlePort = (idleServer.address() as AddressInfo).port;
    try {
      const stalled = await stalledExport(reviewer, idlePort);
      let next: Stalled | undefined;
      const slotFree = async () => {
        next?.abort();
        next = await stalledExport(reviewer, idlePort);
        return next.status === 200;
      };
      await eventually(slotFree, { what: 'the idle export stopped', timeoutMs: 15_000, everyMs: 200 });
      next?.abort();
      const cut = await stalled.body();

      expect(stalled.status).toBe(200);
      expect(next?.status).toBe(200);
      expect(cut.endsWith('0\r\n\r\n')).toBe(false); // no closing chunk: it was cut, not finished
    } finally {
      idleServer.closeAllConnections();
      await new Promise((resolve) => idleServer.close(resolve));
      await idle.close();
    }
  });

  test('when a trickling client makes npm start wait for many drains, then its stderr has no listener warning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'export-server-'));
    writeFileSync(join(dir, 'policy.yaml'), TEST_POLICY);
    const [at, metricsPort] = [await freePort(), await freePort()];
    const env = {
      PATH: process.env.PATH,
      PORT: String(at),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: scratch.gatewayUrl,
      VONAGE_API_KEY: MASTER_KEY,
      VONAGE_API_SECRET: 'unused-here',
      VONAGE_BASE_URL: 'http://127.0.0.1:9',
      ACCESS_POLICY_FILE: join(dir, 'policy.yaml'),
      IDEMPOTENCY_HMAC_KEY: 'i'.repeat(40),
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      LOG_LEVEL: 'error',
    };
    const child = spawn(process.execPath, ['src/server.ts'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const ready = () =>
        fetch(`http://127.0.0.1:${at}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      await eventually(ready, { what: 'the server ready', timeoutMs: 20_000, everyMs: 100 });
      const slow = await stalledExport(reviewer, at);
      const read = await slow.trickle(150, 3);
      slow.abort();
      await slow.closed;
      child.kill('SIGTERM');
      await exited;

      expect(read).toBe(150);
      expect(stderr).not.toMatch(/MaxListenersExceededWarning/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('npm run audit -- query', () => {
  const run = (args: string[]) => captured(runAuditCli, args, { DATABASE_URL: scratch.auditorUrl });

  test('when a reviewer asks for an actor over the last 7 days as CSV, then exactly their recent events print', async () => {
    const { code, output } = await run(['query', '--since', '7d', '--actor', 'actor7@example.com', '--format', 'csv']);

    const rows = output.trim().split('\r\n');
    expect(code).toBe(0);
    expect(rows[0]).toMatch(/^id,occurred_at,/);
    expect(rows.length - 1).toBeGreaterThan(0);
    expect(rows.slice(1).every((row) => row.includes(',actor7@example.com,'))).toBe(true);
    expect(rows.length - 1).toBeLessThan(EVENTS / 200);
  });

  test('when --help is given, then usage prints and the exit code is 0', async () => {
    const { code, output } = await run(['--help']);

    expect(code).toBe(0);
    expect(output).toMatch(/^Usage: npm run audit -- <command>/);
  });

  test('when the options are wrong, then it refuses before touching the database', async () => {
    await expect(run(['query', '--since', 'last tuesday'])).rejects.toThrow(/is not a time/);
    await expect(run(['query', '--outcome', 'maybe'])).rejects.toThrow(/--outcome must be one of/);
    await expect(run(['drop-everything'])).rejects.toThrow(/unknown command/);
  });
});
