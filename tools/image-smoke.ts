/**
 * node tools/image-smoke.ts IMAGE — runs the built image as production would, and checks what it did
 * (`.ci/image` calls it after the build). On this machine's loopback: a throwaway Postgres (roles, an empty
 * database) and the fake Vonage. In the image, as the image's user (uid 1000): the migrations, then the
 * server; /readyz; a list, a create and a revoke through the fake, with their audit rows in Postgres;
 * SIGTERM to the server, then a clean drain and exit 0. Exits 1 naming what failed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startVonageSandbox } from '../src/dev/vonage-sandbox.ts';
import { withRole } from '../test/support/global-setup.ts';
import { freePort, startCluster, stopCluster } from '../test/support/pg-cluster.ts';

const image = process.argv[2] ?? '';
if (!image) throw new Error('usage: node tools/image-smoke.ts IMAGE');
const IDENTITY = { 'x-forwarded-email': 'ci@example.com', 'x-forwarded-groups': 'platform-admins' };
const POLICY =
  'grants:\n  - {group: platform-admins, accounts: ["*"], actions: [secrets:read, secrets:create, secrets:revoke]}\n';

function buildah(args: string[]): string {
  return execFileSync('buildah', args, { encoding: 'utf8', env: { ...process.env, STORAGE_DRIVER: 'vfs' } }).trim();
}

/** `buildah run` as the image's own user, on the host's network, with the policy mounted read-only. */
function run(container: string, env: Record<string, string>, policyDir: string, command: string[]): ChildProcess {
  const envArgs = Object.entries(env).flatMap(([name, value]) => ['--env', `${name}=${value}`]);
  const args = ['run', '--isolation', 'chroot', '--user', 'node', ...envArgs, '-v', `${policyDir}:/policy:ro`];
  return spawn('buildah', [...args, container, '--', ...command], {
    env: { ...process.env, STORAGE_DRIVER: 'vfs' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve),
  );

/** The process under `root` (buildah run) whose command line is the server, and its uid. */
function serverProcess(root: number): { pid: number; uid: number } | undefined {
  const children = (pid: number): number[] =>
    readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((p) => {
        try {
          return Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]) === pid;
        } catch {
          return false;
        }
      });
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    try {
      // node itself (argv: node dist/src/server.js), not buildah's chroot helper, whose argv also names it.
      const [command, script] = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (command?.endsWith('node') && script === 'dist/src/server.js') {
        const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        return { pid, uid };
      }
    } catch {}
    queue.push(...children(pid));
  }
  return undefined;
}

async function until<T>(probe: () => Promise<T | undefined> | T | undefined, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(what);
  console.log(`  ok  ${what}`);
};

async function auditRows(url: string): Promise<Array<{ action: string; outcome: string }>> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const sql =
      'select e.action, o.outcome from audit_events e join audit_outcomes o on o.event_id = e.id order by e.id';
    return (await db.query(sql)).rows;
  } finally {
    await db.end();
  }
}

async function main() {
  const cluster = await startCluster();
  const admin = new pg.Client({ connectionString: cluster.url });
  await admin.connect();
  await admin.query(readFileSync('db/roles.sql', 'utf8'));
  await admin.query('create database smoke owner gateway_owner');
  const vonage = await startVonageSandbox({ masterKey: 'abcd1234', masterSecret: 'Smoke5ecretValue' });
  const policyDir = mkdtempSync(join(tmpdir(), 'smoke-policy-'));
  writeFileSync(join(policyDir, 'policy.yaml'), POLICY, { mode: 0o644 });
  chmodSync(policyDir, 0o755); // read by the image's user, as a mounted ConfigMap is
  const [port, metricsPort] = [await freePort(), await freePort()];
  const container = buildah(['from', '--pull-never', image]);
  const common = { NODE_ENV: 'production', LOG_LEVEL: 'info' };
  let server: ChildProcess | undefined;
  try {
    const migrate = run(
      container,
      { ...common, DATABASE_URL: withRole(cluster.url, 'gateway_owner', 'smoke') },
      policyDir,
      ['node', 'dist/src/migrate.js'],
    );
    check((await exited(migrate)) === 0, 'the migrations ran in the image');
    let log = '';
    server = run(
      container,
      {
        ...common,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        DATABASE_URL: withRole(cluster.url, 'gateway', 'smoke'),
        VONAGE_API_KEY: 'abcd1234',
        VONAGE_API_SECRET: 'Smoke5ecretValue',
        VONAGE_BASE_URL: vonage.url,
        ACCESS_POLICY_FILE: '/policy/policy.yaml',
        IDEMPOTENCY_HMAC_KEY: 's'.repeat(40),
        SHUTDOWN_DRAIN_DELAY_MS: '0',
      },
      policyDir,
      ['node', 'dist/src/server.js'],
    );
    server.stdout?.on('data', (chunk) => (log += chunk));
    server.stderr?.on('data', (chunk) => (log += chunk));
    const url = `http://127.0.0.1:${port}`;
    const ready = async () => ((await fetch(`${url}/readyz`).catch(() => null))?.status === 200 ? true : undefined);
    await until(ready, '/readyz').catch((error: Error) => {
      throw new Error(`${error.message}; the server said:\n${log}`);
    });
    check(true, '/readyz answered 200');
    const proc = await until(() => serverProcess(server?.pid ?? 0), 'the server process');
    check(proc.uid === 1000, `the server runs as uid ${proc.uid} (the image's user node, 1000)`);

    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, {
        method,
        headers: { ...IDENTITY, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    check((await call('GET', '/v1/accounts/abcd1234/secrets')).status === 200, 'a list through the fake Vonage: 200');
    const created = await call('POST', '/v1/accounts/abcd1234/secrets', { secret: 'Smoke5ecretNew1' });
    const { id } = (await created.json()) as { id: string };
    check(created.status === 201, 'a create: 201');
    check((await call('DELETE', `/v1/accounts/abcd1234/secrets/${id}`)).status === 204, 'a revoke: 204');
    const rows = await auditRows(withRole(cluster.url, new URL(cluster.url).username || 'postgres', 'smoke'));
    const audited = rows.map((r) => `${r.action}:${r.outcome}`).join(',');
    check(audited === 'secret.create:success,secret.revoke:success', `the audit rows in Postgres: ${audited}`);

    process.kill(proc.pid, 'SIGTERM');
    const code = await exited(server);
    if (code !== 0) console.error(log.split('\n').slice(-8).join('\n'));
    check(code === 0, `SIGTERM: the server drained and exited ${code}`);
    check(log.includes('shutdown complete'), 'its log says "shutdown complete"');
  } finally {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    buildah(['rm', container]);
    await vonage.close();
    await admin.end();
    await stopCluster(cluster);
  }
}

main().catch((error: Error) => {
  console.error(`image smoke test failed: ${error.message}`);
  process.exit(1);
});
