/**
 * npm run bench — what the gateway costs, measured in one run on this machine:
 *   1. GET list through the gateway (every middleware on, leased rate limits in Postgres, logging on),
 *      with the limiter's Postgres round trips per read
 *   2. the same call made directly against the fake Vonage
 *   3. a minimal keep-alive Node proxy with no middleware, and the Express floor: Express 5 + helmet +
 *      express.json + an undici pool and nothing else (bench/processes.ts), saturated and at a fixed rate
 *   3b. CPU per request of the proxy, the floor and the gateway at the same fixed rate (open loop), from
 *      /proc/<pid>/stat: every server batches alike, so the load generator's speed does not set the figure;
 *      three rounds in turn, and the ratio is the median of the rounds' gateway / floor
 *   4. added p99 at a fixed 200 req/s (gateway vs direct)
 *   5. audited mutations per second: a create+revoke mix, Postgres fsync on
 *   6. the gateway's RSS after 100,000 requests, and whether it grows
 * Prints req/s, p50 and p99 for each, the ratios, and every target with its measured value.
 * The processes measured are started by bench/stack.ts.
 */
import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';
import { withRole } from '../test/support/global-setup.ts';
import { type OpenLoopResult, openLoop, percentile } from './open-loop.ts';
import { startStack } from './stack.ts';
import { cpuMicros, leaseCalls, memoryMb, residentBreakdownMb, settledLeaseCalls, targetTable } from './support.ts';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 10;
const BASIC = `Basic ${Buffer.from('abcd1234:Bench5ecretValue').toString('base64')}`;
const IDENTITY = { 'x-forwarded-email': 'bench@example.com', 'x-forwarded-groups': 'platform-admins' };
const CALLERS = 8;

/**
 * GET list as CALLERS different callers in turn: one caller's read budget (at most 100,000 a minute)
 * would otherwise turn the later runs into 429s, a cheaper path than the one measured.
 */
function listAsManyCallers(gatewayUrl: string): autocannon.Options {
  let turn = 0;
  return {
    url: gatewayUrl,
    headers: IDENTITY,
    requests: [
      {
        method: 'GET',
        path: '/v1/accounts/abcd1234/secrets',
        setupRequest: (req) => {
          turn = (turn + 1) % CALLERS;
          return { ...req, headers: { ...req.headers, 'x-forwarded-email': `bench${turn}@example.com` } };
        },
      },
    ],
  };
}
type Result = { rps: number; p50: number; p99: number; errors: number; non2xx: number; total: number };

async function load(options: autocannon.Options): Promise<Result> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

const targets = targetTable();
const verdict = targets.verdict;

const openLine = (label: string, r: OpenLoopResult) =>
  console.log(
    `${label.padEnd(34)} ${r.rate.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms   errors ${r.errors}`,
  );

const line = (label: string, r: Result) =>
  console.log(
    `${label.padEnd(34)} ${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms   errors ${r.errors}  non-2xx ${r.non2xx}`,
  );

/** Each connection creates a secret, then revokes the one it created: every request is an audited mutation. */
function mutationMix(gatewayUrl: string): autocannon.Options {
  let lastId = '';
  return {
    url: gatewayUrl,
    headers: { ...IDENTITY, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        path: '/v1/accounts/abcd1234/secrets',
        setupRequest: (req) => ({
          ...req,
          body: JSON.stringify({ secret: `Bm${Math.random().toString(36).slice(2, 10)}9Z` }),
        }),
        onResponse: (_status, body) => {
          lastId = (JSON.parse(body) as { id?: string }).id ?? '';
        },
      },
      { method: 'DELETE', setupRequest: (req) => ({ ...req, path: `/v1/accounts/abcd1234/secrets/${lastId}` }) },
    ],
  };
}

const FIXED_RATE = Number(process.env.BENCH_FIXED_RATE ?? 900);
const CPU_ROUNDS = 3;

/**
 * The servers in turn at FIXED_RATE, CPU_ROUNDS times, the order reversed every other round: µs of each one's
 * CPU per request answered. Other tenants change this machine's speed by the minute, so the ratio is the median
 * of each round's gateway / floor, two runs minutes apart at most, rather than of one run each.
 */
async function cpuPerRequest(stack: Awaited<ReturnType<typeof startStack>>): Promise<void> {
  const servers = [
    ['minimal proxy', stack.proxyUrl, '/accounts/abcd1234/secrets', { authorization: BASIC }, stack.pids.proxy],
    ['Express floor', stack.floorUrl, '/v1/accounts/abcd1234/secrets', {}, stack.pids.floor],
    ['gateway', stack.gatewayUrl, '/v1/accounts/abcd1234/secrets', IDENTITY, stack.pids.gateway],
  ] as const;
  const micros = new Map<string, number[]>(servers.map(([label]) => [label, []]));
  for (let round = 0; round < CPU_ROUNDS; round += 1) {
    for (const [label, origin, path, headers, pid] of round % 2 === 0 ? servers : [...servers].reverse()) {
      const before = cpuMicros(pid);
      const [run] = await openLoop({
        rate: FIXED_RATE,
        seconds: Math.max(DURATION / 2, 5),
        targets: [{ origin, path, headers }],
      });
      const perRequest = (cpuMicros(pid) - before) / (run?.total ?? 1);
      micros.get(label)?.push(perRequest);
      console.log(
        `${`round ${round + 1}: ${label} at ${FIXED_RATE} req/s`.padEnd(43)} CPU ${perRequest.toFixed(0).padStart(5)} µs/request   p99 ${run?.p99.toFixed(2)} ms   errors ${run?.errors}`,
      );
    }
  }
  const floor = micros.get('Express floor') ?? [];
  const ratios = (micros.get('gateway') ?? []).map((gateway, round) => gateway / (floor[round] ?? Number.NaN));
  const ratio = percentile(
    [...ratios].sort((a, b) => a - b),
    0.5,
  );
  const shown = `${ratio.toFixed(2)} (median of ${ratios.map((r) => r.toFixed(2)).join(', ')})`;
  verdict(`gateway CPU / Express floor CPU, GET list at ${FIXED_RATE} req/s`, '<= 1.0', shown, ratio <= 1);
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  const stack = await startStack();
  const { cluster, fakeUrl, proxyUrl, gatewayUrl } = stack;
  try {
    console.log(`node ${process.version}, ${CONNECTIONS} connections, ${DURATION} s per run, Postgres fsync on`);
    console.log(`gateway runtime (${stack.runtimeSource}): ${JSON.stringify(stack.runtime)}\n`);

    const direct = await load({ url: `${fakeUrl}/accounts/abcd1234/secrets`, headers: { authorization: BASIC } });
    const proxy = await load({ url: `${proxyUrl}/accounts/abcd1234/secrets`, headers: { authorization: BASIC } });
    const leasesBefore = await leaseCalls(withRole(cluster.url, 'postgres', 'bench'));
    const gateway = await load(listAsManyCallers(gatewayUrl));
    const floor = await load({ url: `${stack.floorUrl}/v1/accounts/abcd1234/secrets` });
    const roundTrips = (await settledLeaseCalls(withRole(cluster.url, 'postgres', 'bench'))) - leasesBefore;
    line('direct to the fake', direct);
    line('minimal keep-alive proxy', proxy);
    line('Express floor', floor);
    line('gateway (all middleware)', gateway);
    const share = gateway.rps / proxy.rps;
    verdict('GET list throughput / minimal proxy', '>= 60 %', `${(share * 100).toFixed(0)} %`, share >= 0.6);
    console.log(`gateway / direct throughput: ${((gateway.rps / direct.rps) * 100).toFixed(0)} %`);
    const toFloor = gateway.rps / floor.rps;
    verdict('GET list throughput / Express floor', '>= 1.0', toFloor.toFixed(2), toFloor >= 1);
    await cpuPerRequest(stack);
    const perRead = roundTrips / gateway.total;
    const trips = `${perRead.toFixed(3)} (${roundTrips} rate_limit_lease calls / ${gateway.total} reads)`;
    verdict('Postgres round trips per read', '<= 0.1', trips, perRead <= 0.1);
    console.log('');

    // Open loop (wrk2-style): a request every 5 ms to each, side by side, latency from when it was due.
    const [directAt200, gatewayAt200] = (await openLoop({
      rate: 200,
      seconds: Math.max(DURATION, 20),
      targets: [
        { origin: fakeUrl, path: '/accounts/abcd1234/secrets', headers: { authorization: BASIC } },
        { origin: gatewayUrl, path: '/v1/accounts/abcd1234/secrets', headers: IDENTITY },
      ],
    })) as [OpenLoopResult, OpenLoopResult];
    openLine('direct at 200 req/s (open loop)', directAt200);
    openLine('gateway at 200 req/s (open loop)', gatewayAt200);
    const added = gatewayAt200.p99 - directAt200.p99;
    verdict('added p99 at 200 req/s (open loop)', '<= 2 ms', `${added.toFixed(2)} ms`, added <= 2);
    // For comparison with earlier runs: autocannon's rate sends each second's quota in one burst.
    const burstAt200 = await load({
      url: `${gatewayUrl}/v1/accounts/abcd1234/secrets`,
      headers: IDENTITY,
      overallRate: 200,
    });
    line('gateway, autocannon -R 200 (bursts)', burstAt200);
    console.log('');

    const mutations = await load(mutationMix(gatewayUrl));
    line('create+revoke mix (audited)', mutations);
    verdict('audited mutations per second', 'recorded', mutations.rps.toFixed(1), null);
    console.log('');

    const metricsUrl = stack.metricsUrl;
    const samples = [await memoryMb(metricsUrl)];
    let refused = 0;
    for (let i = 0; i < 4; i += 1) {
      const run = await autocannon({ ...listAsManyCallers(gatewayUrl), connections: CONNECTIONS, amount: 25_000 });
      refused += run.non2xx;
      samples.push(await memoryMb(metricsUrl));
    }
    console.log(
      `gateway memory every 25,000 requests (MB): RSS ${samples.map((s) => s.rss.toFixed(0)).join(' → ')}; heap used ${samples.map((s) => s.heap.toFixed(0)).join(' → ')}`,
    );
    console.log(`non-2xx answers among those 100,000: ${refused}`);
    const resident = residentBreakdownMb(stack.gateway.pid as number);
    console.log(
      `of the RSS: node executable (file-backed, shared) ${resident.executable.toFixed(0)} MB, malloc heap ${resident.mallocHeap.toFixed(0)} MB, anonymous (V8 heap, stacks) ${resident.anonymous.toFixed(0)} MB`,
    );
    const [half, last] = [samples[2], samples[4]] as [{ rss: number }, { rss: number }];
    const rss = `${last.rss.toFixed(0)} MB (${(last.rss - half.rss).toFixed(0)} MB over the last 50,000)`;
    verdict('RSS after 100,000 requests', '<= 150 MB, flat', rss, last.rss <= 150 && last.rss - half.rss < 10);
    targets.print('targets');
  } finally {
    await stack.stop();
  }
}

await main();
