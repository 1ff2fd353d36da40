import type { Kysely } from 'kysely';
import { startDeliverer, type StreamGauges } from './audit/stream/deliverer.ts';
import type { AuditStreamSettings } from './audit/stream/settings.ts';
import { type ChainGauges, logCheckpoint, watchChain } from './audit/watch.ts';
import type { Database } from './database.ts';
import type { EstateDirectory } from './estate/directory.ts';
import { type EstateGauges, refreshEstatePeriodically } from './estate/refresh.ts';
import { sweepExpiredKeys } from './idempotency/store.ts';
import type { Logger } from './logger.ts';
import type { Policy } from './policy/policy.ts';
import { repeat } from './repeat.ts';
import type { VonageSecrets } from './vonage/client.ts';

/**
 * Everything `npm start` runs beside the requests, started and stopped here and nowhere else:
 * - the audit stream to the SIEM (when configured): one replica, a session advisory lock, 1 connection
 *   for as long as it leads;
 * - the chain watch (an incremental verify every interval, a full one every AUDIT_FULL_VERIFY_INTERVAL_HOURS
 *   across replicas, checkpoints to the log): one replica per round, a transaction-scoped advisory lock,
 *   2 connections (the lock's transaction and the walk);
 * - the estate refresh (accounts discovered from Vonage, each account's secrets, the age gauges): one
 *   replica per round, a session advisory lock, 1 connection (the lock's, which the writes share);
 * - the estate reload: every replica re-reads the managed accounts every minute, 1 connection;
 * - the idempotency-key sweep: every replica, an idempotent delete, 1 connection.
 * They run on a pool of their own, sized to hold all of them at once, so they never wait on each other
 * or take a connection a request needs. `stop` ends every loop (waiting for a round in flight), then
 * writes a last checkpoint; the composition root closes the pool after that.
 */
export const JOB_CONNECTIONS = 1 + 2 + 1 + 1 + 1;

export interface JobDeps {
  db: Kysely<Database>;
  logger: Logger;
  vonage: VonageSecrets;
  /** The policy as written (discovery, allow-list); the directory is what it manages now. */
  policy: Policy;
  directory: EstateDirectory;
  primaryKey: string;
  gauges: { stream: StreamGauges; chain: ChainGauges; estate: EstateGauges };
}

export interface JobSettings {
  auditStream?: AuditStreamSettings;
  auditVerifyIntervalMinutes: number;
  auditAnchorIntervalMinutes: number;
  auditFullVerifyIntervalHours: number;
  accountDiscoveryIntervalMinutes: number;
}

export interface BackgroundJobs {
  /** `deadline` aborts the stream's POST in flight when shutdown runs out of time. */
  stop(deadline?: AbortSignal): Promise<void>;
}

/**
 * Between Vonage calls in an estate refresh: 5 a second, a sixth of the 30 requests a second Vonage
 * allows an account by default, one at a time, so user traffic keeps the rest (500 accounts: ~100 s).
 */
export const ESTATE_SPACING_MS = 200;
const RELOAD_EVERY_MS = 60_000;
const SWEEP_EVERY_MS = 10 * 60_000;
const MINUTE_MS = 60_000;

function sweepKeys({ db, logger }: JobDeps) {
  return repeat(SWEEP_EVERY_MS, () =>
    sweepExpiredKeys(db).then(
      (deleted) => deleted > 0 && logger.info('expired idempotency keys removed', { deleted }),
      (error: unknown) => logger.warn('idempotency key sweep failed', { error: (error as Error).message }),
    ),
  );
}

export function startBackgroundJobs(deps: JobDeps, settings: JobSettings): BackgroundJobs {
  const { db, logger, gauges } = deps;
  const stream = settings.auditStream;
  const anchorEveryMs = settings.auditAnchorIntervalMinutes * MINUTE_MS;
  const deliverer = stream && startDeliverer(db, stream, { logger, gauges: gauges.stream, anchorEveryMs });
  const watch = watchChain(db, {
    logger,
    gauges: gauges.chain,
    verifyEveryMs: settings.auditVerifyIntervalMinutes * MINUTE_MS,
    anchorEveryMs,
    fullEveryMs: settings.auditFullVerifyIntervalHours * 60 * MINUTE_MS,
  });
  const refresh = refreshEstatePeriodically(
    { ...deps, gauges: gauges.estate },
    { intervalMs: settings.accountDiscoveryIntervalMinutes * MINUTE_MS, spacingMs: ESTATE_SPACING_MS },
  );
  const reload = repeat(RELOAD_EVERY_MS, () =>
    deps.directory
      .reload(db)
      .catch((error: Error) => logger.warn('reloading the managed accounts failed', { error: error.message })),
  );
  const sweep = sweepKeys(deps);
  return {
    stop: async (deadline) => {
      const loops = [watch, refresh, reload, sweep];
      await Promise.allSettled([...loops.map((loop) => loop.stop()), deliverer?.stop(deadline)]);
      // Best effort, and only while there is time: with Postgres down there is nothing to anchor to.
      if (deadline?.aborted) return; // out of time: close() has said so and moved on
      const ended = new Promise<void>((resolve) =>
        deadline?.addEventListener('abort', () => resolve(), { once: true }),
      );
      const checkpoint = logCheckpoint(db, logger).then(
        () => undefined,
        (error: Error) =>
          void (deadline?.aborted || logger.warn('no checkpoint at shutdown', { error: error.message })),
      );
      await Promise.race([checkpoint, ended]);
    },
  };
}
