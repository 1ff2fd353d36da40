import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAuditCli } from '../src/cli/audit.ts';
import { captured } from './support/cli.ts';
import { afterAll, describe, expect, test } from '@jest/globals';
import { exampleSecret } from '../src/dev/vonage-sandbox.ts';

/** `npm run dev` as an app developer runs it: its own options, its banner, and state across restarts. */

const dir = mkdtempSync(join(tmpdir(), 'dev-sandbox-'));
const policyFile = join(dir, 'policy.yaml');
writeFileSync(
  policyFile,
  'accounts: [abcd1234]\ngrants:\n  - {group: testers, accounts: ["*"], actions: [secrets:read, secrets:create, audit:read]}\n',
);
/** Without an allow-list: every discovered account is managed. */
const estatePolicyFile = join(dir, 'estate-policy.yaml');
writeFileSync(estatePolicyFile, 'grants:\n  - {group: testers, accounts: ["*"], actions: [secrets:read]}\n');
const caller = { 'X-Forwarded-Email': 'tess@example.com', 'X-Forwarded-Groups': 'testers' };
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** Starts the dev server and resolves with its banner once it prints one. */
function startDev(port: number, ...args: string[]): Promise<{ banner: string; stop(): Promise<void> }> {
  const env = {
    PATH: process.env.PATH,
    PORT: String(port),
    DEV_DATA_DIR: join(dir, 'data'),
    DEV_POLICY_FILE: args.includes('--accounts') ? estatePolicyFile : policyFile,
    RATE_LIMIT_WRITES_PER_MINUTE: '2',
    DEV_CONSOLE: 'off', // this test is about the API's dev loop; the console has its own browser tests
    LOG_LEVEL: 'error',
  };
  const child = spawn(process.execPath, ['src/dev/main.ts', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const stop = () =>
    new Promise<void>((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', () => resolve(void running.delete(child))).kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      // The banner's last line: the whole banner has arrived.
      if (output.includes('npm run audit -- query --since 1h --format csv')) resolve({ banner: output, stop });
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`dev server exited ${code}: ${output}`)));
  });
}

const api = (port: number, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { ...caller, 'Content-Type': 'application/json', ...init.headers },
  });

describe('npm run dev', () => {
  test('when started with overrides, then it binds loopback on PORT, uses DEV_POLICY_FILE and the write budget, and keeps state until --reset', async () => {
    const port = await freePort();
    const first = await startDev(port);
    expect(first.banner).toContain(`listening on http://127.0.0.1:${port} (loopback only)`);
    expect(first.banner).toContain(`/openapi.json`);
    expect(first.banner).toContain(`/v1/me`);
    expect(first.banner).toContain('npm run dev -- --reset');
    // One developer is one actor: the curls act as the identity the sign-in page offers first.
    expect(first.banner).toContain(`-H 'X-Forwarded-Email: testers@dev.example' -H 'X-Forwarded-Groups: testers'`);
    const statuses = [];
    for (let i = 0; i < 3; i += 1)
      statuses.push(
        (
          await api(port, '/v1/accounts/abcd1234/secrets', {
            method: 'POST',
            body: JSON.stringify({ secret: exampleSecret() }),
          })
        ).status,
      );
    expect(statuses).toEqual([201, 409, 429]); // the sandbox's 2-secret limit, then RATE_LIMIT_WRITES_PER_MINUTE=2
    await first.stop();

    const second = await startDev(port);
    const kept = (await (await api(port, '/v1/accounts/abcd1234/secrets')).json()) as { secrets: unknown[] };
    const audit = (await (await api(port, '/v1/audit-events')).json()) as { events: unknown[] };
    // The reviewers' CLI, as the banner prints it, against the embedded database over its Postgres socket.
    const databaseUrl = /DATABASE_URL=(\S+) npm run audit -- verify/.exec(second.banner)?.[1] ?? '';
    const { code, output: verified } = await captured(runAuditCli, ['verify'], { DATABASE_URL: databaseUrl });
    expect(kept.secrets).toHaveLength(2);
    expect(audit.events).toHaveLength(2);
    expect(code).toBe(0);
    expect(JSON.parse(verified)).toMatchObject({ status: 'intact', events: audit.events.length });
    await second.stop();

    const reset = await startDev(port, '--reset');
    const fresh = (await (await api(port, '/v1/accounts/abcd1234/secrets')).json()) as { secrets: unknown[] };
    const empty = (await (await api(port, '/v1/audit-events')).json()) as { events: unknown[] };
    expect(fresh.secrets).toHaveLength(1);
    expect(empty.events).toHaveLength(0);
    await reset.stop();
  }, 180_000); // three dev-server starts; slow on a loaded 2-core machine, and no speed is asserted

  test('when started with --accounts 500, then the estate is discovered at once: 501 named accounts, some suspended, some overdue', async () => {
    const port = await freePort();
    const dev = await startDev(port, '--reset', '--accounts', '500');
    try {
      const seen: Array<{ name: string | null; suspended: boolean }> = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const page = (await (await api(port, `/v1/accounts?limit=200${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
          accounts: Array<{ name: string | null; suspended: boolean }>;
          next_cursor: string | null;
        };
        seen.push(...page.accounts);
        cursor = page.next_cursor;
      }
      const overdue = (await (await api(port, '/v1/accounts?overdue=true&limit=200')).json()) as {
        accounts: unknown[];
      };

      expect(seen).toHaveLength(501);
      expect(seen.filter((a) => a.name === null)).toEqual([]);
      expect(seen.filter((a) => a.suspended).length).toBeGreaterThan(5);
      expect(overdue.accounts.length).toBeGreaterThan(50);
    } finally {
      await dev.stop();
    }
  }, 120_000);
});
