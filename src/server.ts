import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import { type Config, ConfigError, loadConfig } from './config.ts';
import type { Express } from 'express';
import { createApp } from './http/app.ts';
import { httpServer } from './http/http-server.ts';
import { startMetricsServer } from './http/metrics.ts';
import { closeServer, listen, urlOf } from './listen.ts';
import { createLogger, type Logger } from './logger.ts';
import { loadPolicy, type Policy, PolicyError } from './policy/policy.ts';
import { buildGateway, type Gateway } from './wiring.ts';

export interface Running {
  server: Server;
  url: string;
  /** Stops taking connections, lets requests in flight finish, then closes the gateway. */
  shutdown(): Promise<void>;
}

export interface ServeOptions {
  port: number;
  shutdownTimeoutMs: number;
  /** How long readiness fails before the listener closes, so load balancers stop routing here first. */
  drainDelayMs?: number;
  /** Where /metrics is served; omitted, no metrics listener is started. */
  metricsPort?: number;
  /** The interface to bind; omitted, every interface (a pod). The dev sandbox binds loopback. */
  host?: string;
  /** Wraps the app (the dev sandbox puts its sign-in in front); omitted in production. */
  outer?: (app: Express) => Express;
}

/**
 * Listens with the gateway's app; shutdown() fails readiness, drains in-flight requests, then closes
 * the gateway (its jobs, leases, client and pools).
 */
export async function serve(gateway: Gateway, options: ServeOptions): Promise<Running> {
  const inner = createApp(gateway.app);
  const app = options.outer ? options.outer(inner) : inner;
  const server = await listen(httpServer(app), options.port, options.host);
  const metricsServer =
    options.metricsPort === undefined ? undefined : await startMetricsServer(gateway.metrics, options.metricsPort);
  const url = urlOf(server);
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    (stopping ??= (async () => {
      gateway.drain();
      if (options.drainDelayMs) await new Promise((resolve) => setTimeout(resolve, options.drainDelayMs));
      const force = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs).unref();
      // Keep-alive sockets that finish their last request during the drain would otherwise linger until they time out.
      const reapIdle = setInterval(() => server.closeIdleConnections(), 50).unref();
      await closeServer(server);
      clearTimeout(force);
      clearInterval(reapIdle);
      await Promise.allSettled([gateway.close(), metricsServer && closeServer(metricsServer)]);
      gateway.app.logger.info('shutdown complete');
    })());
  return { server, url, shutdown };
}

/** SIGTERM (Kubernetes) and SIGINT (a terminal) both drain gracefully. */
export function shutdownOnSignals(running: Running, logger: Logger): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('shutting down', { signal });
      // Everything is closed by then; a handle a library left open must not keep the pod Terminating.
      void running.shutdown().then(() => setTimeout(() => process.exit(), 1_000).unref());
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

async function main(): Promise<void> {
  const { config, policy } = loadSettings(process.env);
  const logger = createLogger(config.logLevel);
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', { error: String(reason) }));
  const gateway = await buildGateway(config, { policy, logger });
  gateway.startJobs();
  const running = await serve(gateway, {
    port: config.port,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    drainDelayMs: config.drainDelayMs,
    metricsPort: config.metricsPort,
  });
  shutdownOnSignals(running, logger);
  logger.info('listening', {
    port: config.port,
    metrics_port: config.metricsPort,
    auth_mode: config.auth.mode,
    vonage_base_url: config.vonage.baseUrl,
    managed_accounts: gateway.app.policy.accounts.list().length,
    discovery: policy.discovery ? 'on' : 'off',
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
