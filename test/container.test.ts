import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './support/eventually.ts';
import { afterAll, describe, expect, test } from '@jest/globals';
import { validate } from 'dockerfile-utils';
import { startVonageSandbox, type VonageSandbox } from '../src/dev/vonage-sandbox.ts';
import { MASTER_KEY, MASTER_SECRET, TEST_POLICY } from './support/harness.ts';
import { createScratchDatabase, type ScratchDatabase } from './support/scratch-db.ts';
import { freePort } from './support/pg-cluster.ts';

/** No Docker engine runs here, so the image is checked as text, and its production install is run for real. */

const dockerfile = readFileSync('Dockerfile', 'utf8');
const stages = dockerfile.split(/^FROM /m).slice(1);

describe('Dockerfile', () => {
  test('when linted, then it has no errors or warnings', () => {
    expect(validate(dockerfile).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  test('when read, then it is multi-stage on a pinned Node 24 slim base, installs production deps with npm ci, and runs as non-root', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    // Every stage on the one base, a build argument whose default is the pinned official tag.
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m);
    for (const stage of stages) expect(stage).toMatch(/^\$\{BASE_IMAGE\} AS /);
    const runtime = stages.at(-1) ?? '';
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/COPY (\.|test|docs)\b/);
    expect(readFileSync('.dockerignore', 'utf8').split('\n')).toEqual(
      expect.arrayContaining(['test', '.git', 'node_modules', '.env*']),
    );
  });
});

/** Polls until the server answers (or exits): waiting on a condition, not a fixed time. */
async function untilReady(url: string, exited: Promise<number | null>): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  const answers = () =>
    fetch(url).then(
      (res) => res.status === 200,
      () => false,
    );
  await eventually(async () => gone || (await answers()), {
    what: 'the server answering',
    timeoutMs: 30_000,
    everyMs: 100,
  });
  if (gone) throw new Error('the server exited before it was ready');
  return 200;
}

describe('the production install (npm ci --omit=dev plus the build output)', () => {
  let dir: string | undefined;
  let server: ChildProcess | undefined;
  let vonage: VonageSandbox | undefined;
  let scratch: ScratchDatabase | undefined;
  afterAll(async () => {
    server?.kill('SIGKILL');
    await vonage?.close();
    await scratch?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('when started with production env, then it answers /readyz and exits 0 on SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'prod-install-'));
    for (const file of ['package.json', 'package-lock.json']) cpSync(file, join(dir, file));
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      stdio: 'ignore',
    });
    execFileSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')],
      { stdio: 'inherit' },
    );
    cpSync('openapi-internal.yaml', join(dir, 'dist', 'openapi-internal.yaml'));
    writeFileSync(join(dir, 'policy.yaml'), TEST_POLICY);
    expect(readdirSync(join(dir, 'node_modules'))).not.toEqual(
      expect.arrayContaining(['jest', 'typescript', 'supertest']),
    );
    vonage = await startVonageSandbox({ masterKey: MASTER_KEY, masterSecret: MASTER_SECRET });
    // Its own database: the started server discovers the estate, which every gateway on a database reads.
    scratch = await createScratchDatabase('production_install');
    const [port, metricsPort] = [await freePort(), await freePort()];
    const env = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: scratch.gatewayUrl,
      VONAGE_API_KEY: MASTER_KEY,
      VONAGE_API_SECRET: MASTER_SECRET,
      VONAGE_BASE_URL: vonage.url,
      ACCESS_POLICY_FILE: join(dir, 'policy.yaml'),
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      IDEMPOTENCY_HMAC_KEY: 'i'.repeat(40),
    };

    const child = spawn(process.execPath, ['dist/src/server.js'], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    server = child;
    let stdout = '';
    child.stdout?.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const ready = await untilReady(`http://127.0.0.1:${port}/readyz`, exited);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);

    child.kill('SIGTERM');

    expect(ready).toBe(200);
    expect(metrics.status).toBe(200);
    expect(await exited).toBe(0);
    // On shutdown the process anchors the chain: one structured checkpoint line in its log.
    const checkpoint = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((l) => l.message === 'audit checkpoint');
    expect(checkpoint).toMatchObject({
      kind: 'checkpoint',
      seq: expect.any(Number),
      head_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  }, 180_000);
});
