/**
 * npm run bench:profile — CPU profiles of the built gateway (the Deployment's runtime settings plus --cpu-prof)
 * and of the Express floor (bench/processes.ts, the same settings), each under BENCH_SECONDS (15) of GET list at
 * 10 connections, and where each one's busy time under its load goes (bench/profile-shares.ts; start-up and
 * shutdown left out), side by side: the gap between them, component by component, is what the gateway's
 * guarantees cost. docs/performance.md quotes its output.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { monotonicMicros, printShares, printSideBySide, profileShares, type Window } from './profile-shares.ts';
import { deploymentRuntimeEnv } from './support.ts';
import { startStack } from './stack.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const IDENTITY = { 'x-forwarded-email': 'profile@example.com', 'x-forwarded-groups': 'platform-admins' };

/** The load, and when it ran: only the profile's samples from that window count (no start-up or shutdown). */
async function load(url: string, headers: Record<string, string>, label: string) {
  const from = monotonicMicros();
  const result = await autocannon({ url, headers, connections: 10, duration: SECONDS });
  const window: Window = { from, to: monotonicMicros() };
  console.log(
    `${label}: ${result.requests.total} requests in ${SECONDS} s (${result.non2xx} not 2xx) under the profiler`,
  );
  return { requests: result.requests.total, window };
}

execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
const dir = mkdtempSync(join(tmpdir(), 'gateway-profile-'));
// The floor is started with the same settings, so it writes a profile of its own into the same directory.
const nodeOptions = `${deploymentRuntimeEnv().NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${dir}`;
const stack = await startStack(nodeOptions);
const path = '/v1/accounts/abcd1234/secrets';
let runs: Record<'gateway' | 'floor', Awaited<ReturnType<typeof load>>>;
try {
  runs = {
    gateway: await load(`${stack.gatewayUrl}${path}`, IDENTITY, 'gateway'),
    floor: await load(`${stack.floorUrl}${path}`, {}, 'Express floor'),
  };
} finally {
  await stack.stop(); // each process writes its profile as it exits
}
const profileOf = (pid: number) => {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile') && name.includes(`.${pid}.`));
  if (!file) throw new Error(`process ${pid} wrote no profile to ${dir}`);
  console.log(`profile: ${join(dir, file)}`);
  return join(dir, file);
};
const gateway = profileShares(profileOf(stack.pids.gateway), runs.gateway.requests, runs.gateway.window);
const floor = profileShares(profileOf(stack.pids.floor), runs.floor.requests, runs.floor.window);
printShares(gateway);
printSideBySide(['Express floor', floor], ['gateway', gateway]);
