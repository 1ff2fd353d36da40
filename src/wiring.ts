import { fileURLToPath } from 'node:url';
import type { Kysely } from 'kysely';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './database.ts';
import type { AppDeps } from './http/app.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import type { StreamGauges } from './audit/stream/deliverer.ts';
import type { ChainGauges } from './audit/watch.ts';
import type { AgeGauges } from './secrets/secret-age-refresh.ts';
import type { RateLimitStoreFactory } from './http/rate-limit.middleware.ts';
import { type SharedStore, sharedRateLimitStore } from './rate-limit/shared-store.ts';
import type { Logger } from './logger.ts';
import type { Policy } from './policy/policy.ts';
import { type CircuitBreaker, createCircuitBreaker } from './vonage/circuit-breaker.ts';
import { createVonageClient } from './vonage/client.ts';

/**
 * The one place the app's dependencies are built from configuration, for `npm start`, `npm run dev`
 * and the tests alike. Each caller overrides only what differs: the dev sandbox brings an embedded
 * database, the tests a database with a short connect timeout and sometimes their own breaker.
 */
export interface Parts {
  /** The database, if not a pool on config.databaseUrl (PGlite in dev). Also used for long reads. */
  db?: Kysely<Database>;
  breaker?: CircuitBreaker;
  /** The built console; omitted, the folder `npm run build` writes (dist/console beside dist/src). */
  consoleDir?: string;
  /** null: each instance counts in memory; omitted: counts are shared through Postgres. */
  rateLimitStore?: RateLimitStoreFactory | null;
}

/** The secret-age job's gauges, as Prometheus series labelled by managed api key. */
export const ageGauges = (metrics: Metrics): AgeGauges => ({
  oldestAgeSeconds: (apiKey, seconds) => metrics.secretOldestAge.set({ api_key: apiKey }, seconds),
  awaitingCutover: (apiKey, count) => metrics.rotationsAwaitingCutover.set({ api_key: apiKey }, count),
});

export const streamGauges = (metrics: Metrics): StreamGauges => ({
  lag: (records) => metrics.auditStreamLag.set(records),
  delivered: (at) => metrics.auditStreamLastSuccess.set(at.getTime() / 1000),
});

export const chainGauges = (metrics: Metrics): ChainGauges => ({
  verified: (intact, at) => {
    metrics.auditChainIntact.set(intact ? 1 : 0);
    metrics.auditChainLastVerified.set(at.getTime() / 1000);
  },
});

const CIRCUIT_LEVELS = { closed: 0, half_open: 1, open: 2 } as const;

export async function buildDependencies(
  config: Config,
  policy: Policy,
  logger: Logger,
  parts: Parts = {},
): Promise<Omit<AppDeps, 'lifecycle'>> {
  const closers: Array<() => Promise<void>> = [];
  const pool = (options: Omit<Parameters<typeof createDatabase>[0], 'connectionString' | 'logger'>) => {
    const db = createDatabase({ connectionString: config.databaseUrl, logger, ...options });
    closers.push(() => db.destroy());
    return db;
  };
  const db = parts.db ?? createDatabase({ connectionString: config.databaseUrl, logger });
  // Built only when used, and its leases released before any pool closes.
  let leased: ReturnType<typeof sharedStore> | undefined;
  const shared = () => (leased ??= sharedStore(pool, logger, metrics));
  // Verification and exports get their own connections and a longer statement timeout.
  const longReadDb = parts.db ?? pool({ max: 2, readOnly: true, statementTimeoutMs: 120_000 });
  const metrics = createMetrics();
  const breaker =
    parts.breaker ??
    createCircuitBreaker({
      ...config.breaker,
      onStateChange: (state) => {
        metrics.circuitState.set(CIRCUIT_LEVELS[state]);
        logger.warn('vonage circuit breaker changed state', { state });
      },
    });
  return {
    db,
    longReadDb,
    vonage: createVonageClient({ ...config.vonage, breaker }),
    policy,
    identity: await identityProvider(config, logger),
    logger,
    trustedProxyCidrs: config.trustedProxyCidrs,
    rateLimits: config.rateLimits,
    rateLimitStore: parts.rateLimitStore === null ? undefined : (parts.rateLimitStore ?? shared().factory),
    metrics,
    idempotencyHmacKey: config.idempotencyHmacKey,
    allowedOrigins: config.corsAllowedOrigins,
    authMode: config.auth.mode,
    secretMaxAgeDays: config.secretMaxAgeDays,
    rotationStaleAfterHours: config.rotationStaleAfterHours,
    consoleDir: parts.consoleDir ?? fileURLToPath(new URL('../console', import.meta.url)),
    closeOnShutdown: [
      async () => {
        await leased?.release(); // before its pool closes
        await Promise.all(closers.map((close) => close()));
      },
    ],
  };
}

/**
 * Leases need no fsync: a crash at worst forgets a few hits of the current window. On shutdown, unused
 * leases go back to the shared budget before the pool closes.
 */
function sharedStore(
  pool: (options: { max: number; asynchronousCommit: boolean }) => Kysely<Database>,
  logger: Logger,
  metrics: Metrics,
) {
  const rateLimitDb = pool({ max: 5, asynchronousCommit: true });
  const stores: SharedStore[] = [];
  const factory = (prefix: string) => {
    const onLeaseWait = () => metrics.rateLimitLeaseWaits.inc({ budget: prefix.replace(/:$/, '') });
    const store = sharedRateLimitStore(rateLimitDb, logger, prefix, { onLeaseWait });
    stores.push(store);
    return store;
  };
  return { factory, release: async () => void (await Promise.all(stores.map((store) => store.releaseLeases()))) };
}

/** Only the configured mode's code is loaded: headers mode never loads jose or the JWT presets. */
async function identityProvider(config: Config, logger: Logger) {
  if (config.auth.mode === 'jwt') {
    const { jwtAssertionIdentity } = await import('./identity/jwt-assertion.ts');
    return jwtAssertionIdentity(config.auth.jwt, logger);
  }
  const { proxyHeaderIdentity } = await import('./identity/proxy-headers.ts');
  return proxyHeaderIdentity(config.trustedProxyCidrs);
}
