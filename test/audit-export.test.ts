import { request } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runAuditCli } from '../src/cli/audit.ts';
import { createDatabase } from '../src/database.ts';
import { createLogger } from '../src/logger.ts';
import { admin, type Gateway, MASTER_KEY, reviewer, startGateway } from './support/harness.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { seedAuditEvents } from './support/seed-audit.ts';

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

  test('when a caller-controlled cell starts like a formula, then the CSV defuses it', async () => {
    await gateway.http
      .post(`/v1/accounts/${MASTER_KEY}/secrets`)
      .set(admin)
      .set('User-Agent', '=HYPERLINK("http://evil")')
      .send({ secret: 'bad' })
      .expect(400);

    const res = await gateway.http
      .get('/v1/audit-events')
      .query({ actor: 'admin@example.com' })
      .set(reviewer)
      .set('Accept', 'text/csv');

    expect(res.text).toContain(`"'=HYPERLINK(""http://evil"")"`);
  });
});

describe('npm run audit -- query', () => {
  const run = async (args: string[]) => {
    let output = '';
    const code = await runAuditCli(args, { DATABASE_URL: scratch.auditorUrl }, (text) => {
      output += text;
    });
    return { code, output };
  };

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
