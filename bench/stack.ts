/**
 * What the benchmarks measure, each as its own process so the load generator never shares an event
 * loop with it: a throwaway Postgres (fsync on), the fake Vonage, a minimal keep-alive proxy, and the
 * built gateway, run with the Deployment's runtime settings (heap sizes, malloc).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMigratedDatabase, withRole } from '../test/support/global-setup.ts';
import { type Cluster, freePort, startCluster, stopCluster } from '../test/support/pg-cluster.ts';
import { deploymentRuntimeEnv, sql, untilAnswers } from './support.ts';

export interface Stack {
  cluster: Cluster;
  fakeUrl: string;
  proxyUrl: string;
  floorUrl: string;
  gatewayUrl: string;
  /** The process of each server measured, for its CPU time. */
  pids: { proxy: number; floor: number; gateway: number };
  metricsUrl: string;
  gateway: ChildProcess;
  /** The gateway's NODE_OPTIONS and MALLOC_* settings, and where they came from. */
  runtime: Record<string, string>;
  runtimeSource: string;
  stop(): Promise<void>;
}

const POLICY =
  'accounts: [abcd1234]\ngrants:\n  - group: platform-admins\n    accounts: ["*"]\n' +
  '    actions: [secrets:read, secrets:create, secrets:revoke]\n' +
  '  - group: security-reviewers\n    actions: [audit:read]\n';

/** Starts everything; `nodeOptions` replaces the Deployment's NODE_OPTIONS (BENCH_GATEWAY_NODE_OPTIONS). */
export async function startStack(nodeOptions = process.env.BENCH_GATEWAY_NODE_OPTIONS): Promise<Stack> {
  const runtime = { ...deploymentRuntimeEnv(), ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
  const children: ChildProcess[] = [];
  const start = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    // The gateway runs from the build, as in production (type stripping at run time costs memory).
    const entry = args[0] === 'gateway' ? ['dist/src/server.js'] : ['bench/processes.ts', ...args];
    const child = spawn(process.execPath, entry, { env: { ...process.env, ...env }, stdio: 'ignore' });
    children.push(child);
    return child;
  };
  const cluster = await startCluster({ fsync: true });
  await createMigratedDatabase(cluster.url, 'bench');
  // Counts calls of rate_limit_lease, the limiter's only Postgres round trip.
  await sql(cluster.url, "alter database bench set track_functions = 'pl'");
  const [fakePort, proxyPort, floorPort, gatewayPort, metricsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const fakeUrl = `http://127.0.0.1:${fakePort}`;
  const policy = join(tmpdir(), `bench-policy-${process.pid}.yaml`);
  writeFileSync(policy, POLICY);
  start(['fake', String(fakePort)]);
  const proxy = start(['proxy', String(proxyPort), fakeUrl]);
  const floor = start(['floor', String(floorPort), fakeUrl], runtime);
  const gateway = start(['gateway'], {
    NODE_ENV: 'production',
    PORT: String(gatewayPort),
    METRICS_PORT: String(metricsPort),
    DATABASE_URL: withRole(cluster.url, 'gateway', 'bench'),
    VONAGE_API_KEY: 'abcd1234',
    VONAGE_API_SECRET: 'Bench5ecretValue',
    VONAGE_BASE_URL: fakeUrl,
    ACCESS_POLICY_FILE: policy,
    IDEMPOTENCY_HMAC_KEY: 'b'.repeat(40),
    RATE_LIMIT_READS_PER_MINUTE: '100000',
    RATE_LIMIT_WRITES_PER_MINUTE: '100000',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    ...runtime,
  });
  const stack = {
    cluster,
    fakeUrl,
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    floorUrl: `http://127.0.0.1:${floorPort}`,
    pids: { proxy: proxy.pid as number, floor: floor.pid as number, gateway: gateway.pid as number },
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    gateway,
    runtime,
    runtimeSource: nodeOptions
      ? 'k8s/base/deployment.yaml, NODE_OPTIONS from BENCH_GATEWAY_NODE_OPTIONS'
      : 'k8s/base/deployment.yaml',
    async stop() {
      await Promise.all(
        children.map((child) =>
          child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve).kill('SIGTERM')) : undefined,
        ),
      );
      await stopCluster(cluster);
    },
  };
  try {
    await Promise.all([
      untilAnswers(`${fakeUrl}/`),
      untilAnswers(`${stack.proxyUrl}/`),
      untilAnswers(`${stack.floorUrl}/`),
      untilAnswers(`${stack.gatewayUrl}/readyz`),
    ]);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}
