/**
 * npm run bench:estate (and the last step of npm run bench) — the estate at 500 accounts, in one run:
 *   1. one discovery pass as `npm start` runs it (paced at 5 Vonage calls a second): its time and calls
 *   2. p95 of GET /v1/accounts for the first page, a search and the overdue filter (autocannon, 10 connections),
 *      and the Vonage calls those pages made (target 0)
 *   3. the /v1 calls of one console page load in Chromium (target ≤ 3)
 * The gateway is the build (dist/), its own process, on a throwaway Postgres; the fake Vonage runs here.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { chromium } from 'playwright-core';
import { sandboxEstate } from '../src/dev/sandbox-estate.ts';
import { startVonageSandbox } from '../src/dev/vonage-sandbox.ts';
import { createMigratedDatabase, withRole } from '../test/support/global-setup.ts';
import { freePort, startCluster, stopCluster } from '../test/support/pg-cluster.ts';
import { eventually } from '../test/support/eventually.ts';
import { targetTable, untilAnswers } from './support.ts';

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const IDENTITY = { 'x-forwarded-email': 'bench@example.com', 'x-forwarded-groups': 'platform-admins' };
const POLICY =
  'grants:\n  - group: platform-admins\n    accounts: ["*"]\n    actions: [secrets:read, secrets:create]\n';

const targets = targetTable();
const verdict = targets.verdict;

/** autocannon's histogram has p90 and p97.5, not p95: p97.5 is reported, which bounds p95 from above. */
async function p95(url: string, path: string) {
  let turn = 0;
  // Eight callers in turn: one caller's read budget (100,000 a minute) would otherwise end in 429s.
  const request = {
    path,
    setupRequest: (req: autocannon.Request) => {
      turn = (turn + 1) % 8;
      return { ...req, headers: { ...req.headers, 'x-forwarded-email': `bench${turn}@example.com` } };
    },
  };
  const result = await autocannon({ url, headers: IDENTITY, requests: [request], connections: 10, duration: SECONDS });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { p95: result.latency.p97_5, rps: result.requests.average };
}

async function consoleCalls(url: string): Promise<string[]> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  try {
    const page = await (await browser.newContext({ extraHTTPHeaders: IDENTITY })).newPage();
    const calls: string[] = [];
    page.on('request', (r) => new URL(r.url()).pathname.startsWith('/v1/') && calls.push(new URL(r.url()).pathname));
    await page.goto(`${url}/console/`, { waitUntil: 'networkidle' });
    await page.getByRole('table', { name: /Accounts, page 1/ }).waitFor();
    return calls;
  } finally {
    await browser.close();
  }
}

async function main() {
  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  const cluster = await startCluster({ fsync: true });
  await createMigratedDatabase(cluster.url, 'estate');
  const fake = await startVonageSandbox({
    masterKey: 'abcd1234',
    masterSecret: 'Bench5ecretValue',
    subAccounts: sandboxEstate(ACCOUNTS),
  });
  const policy = join(tmpdir(), `bench-estate-policy-${process.pid}.yaml`);
  writeFileSync(policy, POLICY);
  const [port, metricsPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  let gateway: ChildProcess | undefined;
  try {
    const started = performance.now();
    gateway = spawn(process.execPath, ['dist/src/server.js'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        DATABASE_URL: withRole(cluster.url, 'gateway', 'estate'),
        VONAGE_API_KEY: 'abcd1234',
        VONAGE_API_SECRET: 'Bench5ecretValue',
        VONAGE_BASE_URL: fake.url,
        ACCESS_POLICY_FILE: policy,
        IDEMPOTENCY_HMAC_KEY: 'b'.repeat(40),
        RATE_LIMIT_READS_PER_MINUTE: '100000',
        SHUTDOWN_DRAIN_DELAY_MS: '0',
      },
    });
    await untilAnswers(`${url}/readyz`);
    const passCalls = 1 + ACCOUNTS + 1; // the Subaccounts list, then each subaccount and the primary
    await eventually(() => fake.received.length >= passCalls, {
      what: 'the first discovery pass',
      timeoutMs: 15 * 60_000,
      everyMs: 100,
    });
    const seconds = (performance.now() - started) / 1000;
    verdict(
      `discovery pass over ${ACCOUNTS} subaccounts`,
      '5 calls/s',
      `${seconds.toFixed(0)} s, ${fake.received.length} Vonage calls`,
      null,
    );

    const before = fake.received.length;
    for (const [label, path] of [
      ['first page', '/v1/accounts'],
      ['a search', '/v1/accounts?q=payments-eu'],
      ['the overdue filter', '/v1/accounts?overdue=true'],
    ] as const) {
      const { p95: ms, rps } = await p95(url, path);
      verdict(
        `GET /v1/accounts p95, ${label}`,
        '≤ 50 ms',
        `p97.5 ${ms.toFixed(1)} ms (${rps.toFixed(0)} req/s)`,
        ms <= 50,
      );
    }
    verdict('Vonage calls per page', '0', String(fake.received.length - before), fake.received.length === before);
    const calls = await consoleCalls(url);
    verdict('/v1 calls per console page load', '≤ 3', `${calls.length} (${calls.join(', ')})`, calls.length <= 3);
  } finally {
    if (gateway?.exitCode === null) await new Promise((resolve) => gateway?.once('exit', resolve).kill('SIGTERM'));
    await fake.close();
    await stopCluster(cluster);
  }
  targets.print('estate targets');
}

await main();
