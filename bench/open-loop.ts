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

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

export async function openLoop(options: {
  origin: string;
  path: string;
  headers: Record<string, string>;
  rate: number;
  seconds: number;
}): Promise<OpenLoopResult> {
  const pool = new Pool(options.origin, { connections: 32, keepAliveTimeout: 10_000 });
  const count = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const inFlight: Array<Promise<void>> = [];
  let errors = 0;
  const start = performance.now();
  for (let i = 0; i < count; i += 1) {
    const due = start + i * interval;
    const wait = due - performance.now();
    // Timers run in whole milliseconds: round up, so no request leaves before it is due.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(wait)));
    const call = pool
      .request({ method: 'GET', path: options.path, headers: options.headers })
      .then(async (response) => {
        await response.body.dump();
        if (response.statusCode >= 400) errors += 1;
        latencies.push(performance.now() - due);
      })
      .catch(() => {
        errors += 1;
      });
    inFlight.push(call);
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  return {
    rate: count / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    total: count,
  };
}
