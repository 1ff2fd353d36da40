/**
 * npm run bench:profile — a CPU profile of the built gateway (the Deployment's runtime settings plus
 * --cpu-prof) under 15 s of GET list at 10 connections, and where its busy time goes
 * (bench/profile-shares.ts). docs/performance.md quotes its output before and after each change.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { printShares, profileShares } from './profile-shares.ts';
import { deploymentRuntimeEnv } from './support.ts';
import { startStack } from './stack.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);

execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
const dir = mkdtempSync(join(tmpdir(), 'gateway-profile-'));
const nodeOptions = `${deploymentRuntimeEnv().NODE_OPTIONS} --cpu-prof --cpu-prof-dir=${dir}`;
const stack = await startStack(nodeOptions);
let requests = 0;
try {
  const result = await autocannon({
    url: `${stack.gatewayUrl}/v1/accounts/abcd1234/secrets`,
    headers: { 'x-forwarded-email': 'profile@example.com', 'x-forwarded-groups': 'platform-admins' },
    connections: 10,
    duration: SECONDS,
  });
  requests = result.requests.total;
  console.log(`${requests} requests in ${SECONDS} s (${result.non2xx} not 2xx) under the profiler`);
} finally {
  await stack.stop(); // the gateway writes its profile as it exits
}
const [profile] = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
if (!profile) throw new Error(`no profile was written to ${dir}`);
console.log(`profile: ${join(dir, profile)}`);
printShares(profileShares(join(dir, profile), requests));
