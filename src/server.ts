import type { Server } from 'node:http';
import { createServer } from './node-http.ts';
import { pathToFileURL } from 'node:url';
import { type Config, ConfigError, loadConfig } from './config.ts';
import type { Express } from 'express';
import { type AppDeps, createApp } from './http/app.ts';
import { startMetricsServer } from './http/metrics.ts';
import { sweepExpiredKeys } from './idempotency/store.ts';
import { closeServer, listen, urlOf } from './listen.ts';
import { createLogger, type Logger } from './logger.ts';
import { loadPolicy, type Policy, PolicyError } from './policy/policy.ts';
import { buildDependencies } from './wiring.ts';
import { startBackgroundJobs } from './background-jobs.ts';

export interface Running {
  server: Server;
  url: string;
  db: AppDeps['db'];
  /** Stops taking connections, lets requests in flight finish, then closes the pools. */
  shutdown(): Promise<void>;
}

/** Above Node's 16 KiB default, so an oversized identity header gets a 401 problem, not a bare 431. */
export const MAX_HEADER_BYTES = 128 * 1024;

export interface ServeOptions {
  port: number;
  shutdownTimeoutMs: number;
  /** How long readiness fails before the listener closes, so load balancers stop routing here first. */
  drainDelayMs?: number;
  /** Where /metrics is served; omitted, no metrics listener is started. */
  metricsPort?: number;
  /** The interface to bind; omitted, every interface (a pod). The dev sandbox binds loopback. */
  host?: string;
  /** Runs after requests in flight have finished and before the pools close (a last checkpoint). */
  beforePoolsClose?: () => Promise<void>;
  /** Wraps the app (the dev sandbox puts its sign-in in front); omitted in production. */
  outer?: (app: Express) => Express;
}

/**
 * Listens with the given dependencies; shutdown() fails readiness, drains in-flight requests, then
 * closes the pools.
 */
export async function serve(deps: Omit<AppDeps, 'lifecycle'>, options: ServeOptions): Promise<Running> {
  let draining = false;
  const inner = createApp({ ...deps, lifecycle: { isDraining: () => draining } });
  const app = options.outer ? options.outer(inner) : inner;
  const server = await listen(createServer({ maxHeaderSize: MAX_HEADER_BYTES }, app), options.port, options.host);
  const metricsServer =
    options.metricsPort === undefined ? undefined : await startMetricsServer(deps.metrics, options.metricsPort);
  const url = urlOf(server);
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      draining = true;
      if (options.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, options.drainDelayMs));
      const force = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs).unref();
      // Keep-alive sockets that finish their last request during the drain would otherwise linger until they time out.
      const reapIdle = setInterval(() => server.closeIdleConnections(), 50).unref();
      await closeServer(server);
      clearTimeout(force);
      clearInterval(reapIdle);
      await options
        .beforePoolsClose?.()
        .catch((error: Error) => deps.logger.warn('shutdown step failed', { error: error.message }));
      const extra = (deps.closeOnShutdown ?? []).map((close) => close());
      await Promise.allSettled([
        deps.vonage.close(),
        deps.db.destroy(),
        metricsServer && closeServer(metricsServer),
        ...extra,
      ]);
      deps.logger.info('shutdown complete');
    })());
  return { server, url, db: deps.db, shutdown };
}

/** SIGTERM (Kubernetes) and SIGINT (a terminal) both drain gracefully. */
export function shutdownOnSignals(running: Running, logger: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('shutting down', { signal });
      void running.shutdown();
    });
  }
}

/** Config and policy problems are reported together, then the process exits non-zero. */
function loadSettings(env: NodeJS.ProcessEnv): { config: Config; policy: Policy } {
  const problems: string[] = [];
  let config: Config | undefined;
  let policy: Policy | undefined;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (env.ACCESS_POLICY_FILE) {
    try {
      policy = loadPolicy(env.ACCESS_POLICY_FILE);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (!config || !policy || problems.length > 0) throw new ConfigError(problems);
  return { config, policy };
}

const SWEEP_EVERY_MS = 10 * 60_000;

function sweepIdempotencyKeysPeriodically(running: Running, logger: Logger): void {
  const timer = setInterval(() => {
    sweepExpiredKeys(running.db).then(
      (deleted) => deleted > 0 && logger.info('expired idempotency keys removed', { deleted }),
      (error: unknown) => logger.warn('idempotency key sweep failed', { error: (error as Error).message }),
    );
  }, SWEEP_EVERY_MS).unref();
  running.server.once('close', () => clearInterval(timer));
}

async function main(): Promise<void> {
  const { config, policy } = loadSettings(process.env);
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { error: String(reason) }));
  const deps = await buildDependencies(config, policy, logger);
  const jobs = startBackgroundJobs(deps, config, policy);
  const running = await serve(deps, {
    beforePoolsClose: jobs.stop,
    port: config.port,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    drainDelayMs: config.drainDelayMs,
    metricsPort: config.metricsPort,
  });
  shutdownOnSignals(running, logger);
  sweepIdempotencyKeysPeriodically(running, logger);
  logger.info('listening', {
    port: config.port,
    metrics_port: config.metricsPort,
    auth_mode: config.auth.mode,
    vonage_base_url: config.vonage.baseUrl,
    managed_accounts: policy.accounts.size,
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
