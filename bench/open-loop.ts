/**
 * A constant-rate (open-loop) load, as wrk2 makes it: request i is due at start + i / rate, is sent
 * then whether or not earlier ones have answered, and its latency counts from when it was due, so a
 * stall shows in the tail instead of silently lowering the rate (coordinated omission).
 *
 * autocannon's own `overallRate` is not this: each connection sends its per-second quota back to back
 * and then waits for the next second, so "200 req/s" arrives as one burst per second and its p99 is the
 * latency of that burst.
 */
import { Pool } from 'undici';

export interface OpenLoopResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  total: number;
}

/** The value at fraction `p` (0–1) of an ascending list. */
export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

export interface Target {
  origin: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * Each target at `rate`, side by side: at every tick one request goes to each, so a stall of the
 * machine (this one has two cores, shared with Postgres, the fake and the load) lands on both alike and
 * the difference of their tails is what the gateway adds.
 */
export async function openLoop(options: {
  targets: Target[];
  rate: number;
  seconds: number;
}): Promise<OpenLoopResult[]> {
  const pools = options.targets.map((t) => new Pool(t.origin, { connections: 32, keepAliveTimeout: 10_000 }));
  const count = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies: number[][] = options.targets.map(() => []);
  const errors = options.targets.map(() => 0);
  const inFlight: Array<Promise<void>> = [];
  const start = performance.now();
  for (let i = 0; i < count; i += 1) {
    const due = start + i * interval;
    const wait = due - performance.now();
    // Timers run in whole milliseconds: round up, so no request leaves before it is due.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
    options.targets.forEach((target, t) => {
      const call = (pools[t] as Pool)
        .request({ method: 'GET', path: target.path, headers: target.headers })
        .then(async (response) => {
          await response.body.dump();
          if (response.statusCode >= 400) errors[t] = (errors[t] ?? 0) + 1;
          latencies[t]?.push(performance.now() - due);
        })
        .catch(() => {
          errors[t] = (errors[t] ?? 0) + 1;
        });
      inFlight.push(call);
    });
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  await Promise.all(pools.map((pool) => pool.close()));
  return latencies.map((sorted, t) => {
    sorted.sort((a, b) => a - b);
    return {
      rate: count / elapsed,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      errors: errors[t] ?? 0,
      total: count,
    };
  });
}
