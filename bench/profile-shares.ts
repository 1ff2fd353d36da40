/**
 * Where a CPU profile's busy time goes, by component: each sample is charged to the nearest frame on its
 * stack that belongs to a known component (shared helpers such as path-to-regexp or debug are charged to
 * their caller). Used by `npm run bench:profile`; also runs on its own: node bench/profile-shares.ts FILE [requests]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  /** µs since the previous sample (the first: since startTime); timestamps are CLOCK_MONOTONIC µs. */
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A stretch of time in µs of CLOCK_MONOTONIC, the clock of `process.hrtime` and of V8's profiles on Linux. */
export interface Window {
  from: number;
  to: number;
}

export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

const COMPONENTS: Array<[string, RegExp]> = [
  ['log line (winston, format, stdout write)', /winston|logform|src\/logger|sync_write_stream|triple-beam/],
  ['rate limit (express-rate-limit, leased store)', /express-rate-limit|rate-limit/],
  [
    'contract checks (validator, ajv, body parser)',
    /contract\/|\/ajv|express-openapi-validator|body-parser|openapi\.js|raw-body|json-schema|multer|lodash/,
  ],
  ['security headers (helmet)', /helmet|src\/http\/security-headers/],
  ['identity and policy', /identity|policy|proxy-addr|ipaddr|trusted-peers/],
  ['metrics (prom-client)', /prom-client/],
  ['upstream call (undici, Vonage client, zod parse)', /undici|vonage\/|zod/],
  [
    'Express, its router and our dispatch',
    /node_modules\/(express\/|router\/|finalhandler|send\/|on-finished)|src\/http\/(series|gated)\.js/,
  ],
  ['our routes, guards and use cases', /\/dist\/src\//],
  ['Node HTTP server and sockets', /node:_http|node:net|stream_base|node:internal\/streams|node:events/],
];
const SHARED_HELPERS =
  /node_modules\/(path-to-regexp|debug|parseurl|content-type|mime-types|mime-db|qs|media-typer|type-is|ms)\//;

export interface Share {
  component: string;
  share: number;
  /** Busy time per request, in µs as the profiler saw it (profiling itself slows the process). */
  perRequestUs?: number;
}

/**
 * The profile's busy time by component. With a window, only the samples taken in it count (the load, without
 * start-up and shutdown), each weighted by the time since the sample before it.
 */
export function profileShares(file: string, requests?: number, window?: Window): { idle: number; shares: Share[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const componentOf = (leaf: number) => {
    for (let at: number | undefined = leaf; at !== undefined; at = parent.get(at)) {
      const url = byId.get(at)?.callFrame.url ?? '';
      if (SHARED_HELPERS.test(url)) continue;
      const found = COMPONENTS.find(([, pattern]) => pattern.test(url));
      if (found) return found[0];
    }
    return 'other (microtasks, timers, V8)';
  };
  const micros = new Map<string, number>();
  let [idle, all, at] = [0, 0, profile.startTime];
  profile.samples.forEach((sample, i) => {
    const weight = profile.timeDeltas[i] ?? 0;
    at += weight;
    if (window && (at < window.from || at > window.to)) return;
    all += weight;
    const name = byId.get(sample)?.callFrame.functionName;
    if (name === '(idle)') idle += weight;
    else {
      const component = name === '(garbage collector)' ? 'garbage collector' : componentOf(sample);
      micros.set(component, (micros.get(component) ?? 0) + weight);
    }
  });
  const busy = all - idle;
  const shares = [...micros]
    .sort((a, b) => b[1] - a[1])
    .map(([component, us]) => ({ component, share: us / busy, perRequestUs: requests ? us / requests : undefined }));
  return { idle: idle / all, shares };
}

export function printShares({ idle, shares }: ReturnType<typeof profileShares>): void {
  console.log(`idle ${(idle * 100).toFixed(0)} % of samples; busy time by component:`);
  for (const s of shares) {
    const us = s.perRequestUs === undefined ? '' : `${s.perRequestUs.toFixed(1).padStart(7)} µs/request`;
    console.log(`  ${s.component.padEnd(50)} ${(s.share * 100).toFixed(0).padStart(3)} %  ${us}`);
  }
  const total = shares.reduce((sum, s) => sum + (s.perRequestUs ?? 0), 0);
  if (total > 0) console.log(`  ${'all busy time'.padEnd(50)} 100 %  ${total.toFixed(1).padStart(7)} µs/request`);
}

/** Two profiles' busy time per request, component by component, largest gap first. */
export function printSideBySide(
  [leftLabel, left]: [string, ReturnType<typeof profileShares>],
  [rightLabel, right]: [string, ReturnType<typeof profileShares>],
): void {
  const us = (of: ReturnType<typeof profileShares>, component: string) =>
    of.shares.find((s) => s.component === component)?.perRequestUs ?? 0;
  const components = [...new Set([...left.shares, ...right.shares].map((s) => s.component))];
  const rows = components
    .map((component) => ({ component, l: us(left, component), r: us(right, component) }))
    .sort((a, b) => b.r - b.l - (a.r - a.l));
  console.log(`busy µs per request: ${leftLabel} / ${rightLabel} / difference`);
  for (const { component, l, r } of rows)
    console.log(
      `  ${component.padEnd(50)} ${l.toFixed(1).padStart(7)} ${r.toFixed(1).padStart(7)} ${(r - l).toFixed(1).padStart(7)}`,
    );
  const sum = (of: ReturnType<typeof profileShares>) =>
    of.shares.reduce((total, s) => total + (s.perRequestUs ?? 0), 0);
  const [l, r] = [sum(left), sum(right)];
  console.log(
    `  ${'all busy time'.padEnd(50)} ${l.toFixed(1).padStart(7)} ${r.toFixed(1).padStart(7)} ${(r - l).toFixed(1).padStart(7)}`,
  );
}

if (import.meta.main) {
  const [file, requests] = process.argv.slice(2);
  if (!file) throw new Error('usage: node bench/profile-shares.ts FILE.cpuprofile [requests]');
  printShares(profileShares(file, requests ? Number(requests) : undefined));
}
