import type { SubAccount } from './sandbox-state.ts';

/**
 * `npm run dev -- --accounts N`: N subaccounts named as companies name them (product-region-stage), with
 * secrets of every age (about a quarter overdue at 90 days) and a few suspended, the same on every run.
 */
const PRODUCTS = ['payments', 'messaging', 'voice', 'verify', 'video', 'support', 'marketing', 'billing', 'identity'];
const REGIONS = ['eu', 'us', 'apac', 'latam'];
const STAGES = ['prod', 'staging', 'dev'];
const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function sandboxEstate(size: number, now = Date.now()): SubAccount[] {
  const combos = PRODUCTS.length * REGIONS.length * STAGES.length;
  return Array.from({ length: size }, (_, i) => {
    const product = PRODUCTS[i % PRODUCTS.length];
    const region = REGIONS[Math.floor(i / PRODUCTS.length) % REGIONS.length];
    const stage = STAGES[Math.floor(i / (PRODUCTS.length * REGIONS.length)) % STAGES.length];
    const round = Math.floor(i / combos);
    return {
      apiKey: `s${String(i + 1).padStart(7, '0')}`,
      name: `${product}-${region}-${stage}${round > 0 ? `-${round + 1}` : ''}`,
      suspended: i % 47 === 46,
      createdAt: iso(now - (400 + (i % 300)) * DAY_MS),
      secretCreatedAt: iso(now - ((i * 37) % 120) * DAY_MS - 3_600_000),
    };
  });
}
