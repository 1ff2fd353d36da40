import { fileURLToPath } from 'node:url';
import type { Kysely, KyselyPlugin } from 'kysely';
import { createChainVerifier } from './audit/chain-verifier.ts';
import { createLongReads } from './audit/long-reads.ts';
import { type BackgroundJobs, JOB_CONNECTIONS, startBackgroundJobs } from './background-jobs.ts';
import type { Config } from './config.ts';
import { createDatabase, type Database } from './database.ts';
import type { Consumer } from './delivery/store.ts';
import { estateDirectory } from './estate/directory.ts';
import { type PassResult, refreshEstate } from './estate/refresh.ts';
import { snapshotting } from './estate/snapshotting.ts';
import type { AppDeps } from './http/app.ts';
import { createMetrics, type Metrics, setConsumerGauges } from './http/metrics.ts';
import { contractChecks, loadContract } from './http/openapi.ts';
import type { Logger } from './logger.ts';
import type { Policy } from './policy/policy.ts';
import { sharedRateLimitStore, type SharedStore } from './rate-limit/shared-store.ts';
import { type CircuitBreaker, createCircuitBreaker } from './vonage/circuit-breaker.ts';
import { createVonageClient } from './vonage/client.ts';

/**
 * The one composition root. `buildGateway` constructs every dependency from configuration, for
 * `npm start`, `npm run dev`, the bench and the tests alike; `close` is the one way to end them, in
 * order: background jobs (and their last checkpoint), rate-limit leases handed back, the Vonage client,
 * then every pool. It always ends: each step is bounded by the shutdown timeout.
 */
export interface Parts {
  policy: Policy;
  logger: Logger;
  /** The database, if not a pool on config.databaseUrl (PGlite in dev); also used for long reads and jobs. */
  db?: Kysely<Database>;
  breaker?: CircuitBreaker;
  /** The built console; omitted, the folder `npm run build` writes (dist/console beside dist/src). */
  consoleDir?: string;
  /** How long a request waits for a connection before its audit write fails closed (default 2 s). */
  connectionTimeoutMs?: number;
  /** 'memory': each instance counts on its own (dev, most tests); default: shared through Postgres. */
  rateLimitCounts?: 'memory' | 'shared';
  /** Observers of the shared rate-limit store, for tests that count its round trips. */
  rateLimitProbe?: { retrySharedAfterMs?: number; plugin?: KyselyPlugin; onLeaseWait?: () => void };
  /** How long a rotation step may hold its row before another request takes it over (default 2 min). */
  rotationLeaseMs?: number;
}

export interface Gateway {
  /** What createApp mounts. */
  app: AppDeps;
  metrics: Metrics;
  /** Starts the background jobs (`npm start`); `close` stops them. */
  startJobs(): void;
  /** One estate refresh now, unpaced: what the job does every interval (tests, the bench, the sandbox). */
  refreshEstate(): Promise<PassResult>;
  /** From now on readiness fails: the drain before the listener closes. */
  drain(): void;
  close(): Promise<void>;
}

const CIRCUIT_LEVELS = { closed: 0, half_open: 1, open: 2 } as const;
/** Long reads at once per process; more answer 503 with Retry-After. */
const MAX_LONG_READS = 2;
const ROTATION_LEASE_MS = 120_000;

export async function buildGateway(config: Config, parts: Parts): Promise<Gateway> {
  const { logger } = parts;
  const closers = new Closers(config.shutdownTimeoutMs, logger);
  const pool = (options: Omit<Parameters<typeof createDatabase>[0], 'connectionString' | 'logger'>) =>
    closers.pool(parts.db ?? createDatabase({ connectionString: config.databaseUrl, logger, ...options }));
  const db = pool({ connectionTimeoutMs: parts.connectionTimeoutMs });
  const metrics = createMetrics();
  metrics.secretMaxAge.set(config.secretMaxAgeDays * 86_400);
  const upstream = createVonageClient({
    ...config.vonage,
    breaker: parts.breaker ?? breakerOf(config, metrics, logger),
  });
  closers.client(() => upstream.close());
  const vonage = snapshotting(upstream, db, logger);
  const directory = estateDirectory(parts.policy, config.vonage.apiKey);
  await directory.reload(db).catch((error: Error) => {
    logger.warn('the estate could not be read; managing the static list until it can', { error: error.message });
  });
  // Every decision asks the live directory; the file's rules stay as written.
  const policy = { ...parts.policy, accounts: directory };
  const leases = parts.rateLimitCounts === 'memory' ? undefined : sharedLeases(pool, logger, metrics, parts);
  closers.leases(leases);
  // Verification and exports get their own connections and a longer statement timeout.
  const longReads = createLongReads(pool({ max: 2, readOnly: true, statementTimeoutMs: 120_000 }), MAX_LONG_READS);
  const contract = loadContract();
  let draining = false;
  const app: AppDeps = {
    db,
    vonage,
    policy,
    estate: directory,
    identity: await identityProvider(config, logger),
    logger,
    metrics,
    audit: { db, logger, onWriteFailure: (stage) => metrics.auditWriteFailures.inc({ stage }) },
    idempotency: { db, logger, hmacKey: config.idempotencyHmacKey },
    longReads,
    chainVerifier: createChainVerifier(longReads),
    contract: { document: contract, checks: contractChecks(contract) },
    trustedProxyCidrs: config.trustedProxyCidrs,
    rateLimits: config.rateLimits,
    rateLimitStore: leases?.factory,
    allowedOrigins: config.corsAllowedOrigins,
    authMode: config.auth.mode,
    consoleDir: parts.consoleDir ?? fileURLToPath(new URL('../console', import.meta.url)),
    lifecycle: { isDraining: () => draining },
    rotation: {
      secretMaxAgeDays: config.secretMaxAgeDays,
      staleAfterHours: config.rotationStaleAfterHours,
      leaseMs: parts.rotationLeaseMs ?? ROTATION_LEASE_MS,
    },
    exportIdleMs: config.exportIdleTimeoutSeconds * 1000,
    delivery: config.delivery,
  };
  const startJobs = () => {
    const jobsDb = pool({ max: JOB_CONNECTIONS, statementTimeoutMs: 120_000 });
    const gauges = { stream: streamGauges(metrics), chain: chainGauges(metrics), estate: estateGauges(metrics) };
    const jobs = { ...estateParts, db: jobsDb, gauges };
    closers.jobs(startBackgroundJobs(jobs, config));
  };
  const estateParts = { logger, vonage: upstream, policy: parts.policy, directory, primaryKey: config.vonage.apiKey };
  const refreshNow = () => refreshEstate({ ...estateParts, db, gauges: estateGauges(metrics) }, 0);
  const drain = () => {
    draining = true;
  };
  return { app, metrics, startJobs, refreshEstate: refreshNow, drain, close: () => closers.close() };
}

/** What close() ends, in the order it ends them; each step bounded, so a dead dependency never hangs it. */
class Closers {
  #jobs: BackgroundJobs[] = [];
  #leases: Array<{ release(): Promise<void> }> = [];
  #clients: Array<() => Promise<void>> = [];
  #pools = new Set<Kysely<Database>>();
  #closing: Promise<void> | undefined;
  readonly timeoutMs: number;
  readonly logger: Logger;
  constructor(timeoutMs: number, logger: Logger) {
    this.timeoutMs = timeoutMs;
    this.logger = logger;
  }
  pool(db: Kysely<Database>) {
    this.#pools.add(db);
    return db;
  }
  jobs = (jobs: BackgroundJobs) => void this.#jobs.push(jobs);
  leases = (leases: { release(): Promise<void> } | undefined) => void (leases && this.#leases.push(leases));
  client = (close: () => Promise<void>) => void this.#clients.push(close);

  close(): Promise<void> {
    this.#closing ??= this.#closeAll();
    return this.#closing;
  }

  async #closeAll(): Promise<void> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const bounded = (step: string, work: Array<Promise<unknown> | undefined>) =>
      within(deadline, Promise.allSettled(work)).then((ended) => {
        if (!ended) this.logger.warn('shutdown step ran out of time', { step });
      });
    await bounded(
      'background jobs',
      this.#jobs.map((jobs) => jobs.stop(deadline)),
    );
    await bounded(
      'rate-limit leases',
      this.#leases.map((leases) => leases.release()),
    );
    await bounded(
      'vonage client',
      this.#clients.map((close) => close()),
    );
    await bounded(
      'database pools',
      [...this.#pools].map((db) => db.destroy()),
    );
  }
}

/** Resolves true when `work` ends, false when the deadline comes first. */
function within(deadline: AbortSignal, work: Promise<unknown>): Promise<boolean> {
  if (deadline.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => resolve(false);
    deadline.addEventListener('abort', onAbort, { once: true });
    void work.then(() => {
      deadline.removeEventListener('abort', onAbort);
      resolve(true);
    });
  });
}

function breakerOf(config: Config, metrics: Metrics, logger: Logger): CircuitBreaker {
  return createCircuitBreaker({
    ...config.breaker,
    onStateChange: (state) => {
      metrics.circuitState.set(CIRCUIT_LEVELS[state]);
      logger.warn('vonage circuit breaker changed state', { state });
    },
  });
}

/**
 * Leases need no fsync: a crash at worst forgets a few hits of the current window. On shutdown, unused
 * leases go back to the shared budget before the pool closes.
 */
function sharedLeases(
  pool: (options: { max: number; asynchronousCommit: boolean }) => Kysely<Database>,
  logger: Logger,
  metrics: Metrics,
  { rateLimitProbe: probe }: Parts,
) {
  const rateLimitDb = pool({ max: 5, asynchronousCommit: true });
  const db = probe?.plugin ? rateLimitDb.withPlugin(probe.plugin) : rateLimitDb;
  const stores: SharedStore[] = [];
  const factory = (prefix: string) => {
    const onLeaseWait = () => {
      metrics.rateLimitLeaseWaits.inc({ budget: prefix.replace(/:$/, '') });
      probe?.onLeaseWait?.();
    };
    const store = sharedRateLimitStore(db, logger, prefix, {
      onLeaseWait,
      retrySharedAfterMs: probe?.retrySharedAfterMs,
    });
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

/** The background jobs' gauges, as Prometheus series. */
export const estateGauges = (metrics: Metrics) => ({
  discovery: (source: 'vonage' | 'static', accounts: number, ok: boolean) => {
    metrics.estateSource.set({ source }, 1);
    metrics.estateSource.set({ source: source === 'vonage' ? 'static' : 'vonage' }, 0);
    metrics.estateAccounts.set(accounts);
    metrics.estateLastRefresh.set({ result: ok ? 'success' : 'failure' }, Date.now() / 1000);
  },
  oldestAgeSeconds: (apiKey: string, seconds: number) => metrics.secretOldestAge.set({ api_key: apiKey }, seconds),
  awaitingCutover: (apiKey: string, count: number) => metrics.rotationsAwaitingCutover.set({ api_key: apiKey }, count),
  consumers: (consumers: Consumer[]) => {
    metrics.consumerLastDelivery.reset();
    metrics.consumerInterval.reset();
    for (const consumer of consumers)
      setConsumerGauges(metrics, consumer, consumer.lastDelivery?.at ?? consumer.createdAt);
  },
});

export const streamGauges = (metrics: Metrics) => ({
  lag: (records: number) => metrics.auditStreamLag.set(records),
  delivered: (at: Date) => metrics.auditStreamLastSuccess.set(at.getTime() / 1000),
});

export const chainGauges = (metrics: Metrics) => ({
  verified: (intact: boolean, at: Date, check: 'full' | 'incremental') => {
    metrics.auditChainIntact.set({ check }, intact ? 1 : 0);
    metrics.auditChainLastVerified.set({ check }, at.getTime() / 1000);
  },
});
