import type { Kysely } from 'kysely';
import { startDeliverer, type StreamGauges } from './audit/stream/deliverer.ts';
import type { AuditStreamSettings } from './audit/stream/settings.ts';
import { type ChainGauges, logCheckpoint, watchChain } from './audit/watch.ts';
import type { Database } from './database.ts';
import { sweepExpiredKeys } from './idempotency/store.ts';
import type { Logger } from './logger.ts';
import type { Policy } from './policy/policy.ts';
import { repeat } from './repeat.ts';
import { type AgeGauges, refreshSecretAgePeriodically } from './secrets/secret-age-refresh.ts';
import type { VonageSecrets } from './vonage/client.ts';

/**
 * Everything `npm start` runs beside the requests, started and stopped here and nowhere else:
 * - the audit stream to the SIEM (when configured): one replica, a session advisory lock, 1 connection
 *   for as long as it leads;
 * - the chain watch (an incremental verify every interval, a full one every AUDIT_FULL_VERIFY_INTERVAL_HOURS
 *   across replicas, checkpoints to the log): one replica per round, a transaction-scoped advisory lock,
 *   2 connections (the lock's transaction and the walk);
 * - the secret-age refresh: one replica per round, a transaction-scoped advisory lock, 1 connection;
 * - the idempotency-key sweep: every replica, an idempotent delete, 1 connection.
 * They run on a pool of their own, sized to hold all of them at once, so they never wait on each other
 * or take a connection a request needs. `stop` ends every loop (waiting for a round in flight), then
 * writes a last checkpoint; the composition root closes the pool after that.
 */
export const JOB_CONNECTIONS = 1 + 2 + 1 + 1;

export interface JobDeps {
  db: Kysely<Database>;
  logger: Logger;
  vonage: VonageSecrets;
  policy: Policy;
  gauges: { stream: StreamGauges; chain: ChainGauges; age: AgeGauges };
}

export interface JobSettings {
  auditStream?: AuditStreamSettings;
  auditVerifyIntervalMinutes: number;
  auditAnchorIntervalMinutes: number;
  auditFullVerifyIntervalHours: number;
  secretAgeRefreshMinutes: number;
  secretMaxAgeDays: number;
  rotationStaleAfterHours: number;
}

export interface BackgroundJobs {
  /** `deadline` aborts the stream's POST in flight when shutdown runs out of time. */
  stop(deadline?: AbortSignal): Promise<void>;
}

/** Between accounts in a secret-age refresh: well under Vonage's rate limits however many accounts. */
const AGE_REFRESH_SPACING_MS = 1_000;
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
  const ages = {
    db,
    policy: deps.policy,
    vonage: deps.vonage,
    maxAgeDays: settings.secretMaxAgeDays,
    staleAfterHours: settings.rotationStaleAfterHours,
  };
  const refresh = refreshSecretAgePeriodically(ages, gauges.age, {
    intervalMs: settings.secretAgeRefreshMinutes * MINUTE_MS,
    spacingMs: AGE_REFRESH_SPACING_MS,
    logger,
  });
  const sweep = sweepKeys(deps);
  return {
    stop: async (deadline) => {
      await Promise.allSettled([watch.stop(), refresh.stop(), sweep.stop(), deliverer?.stop(deadline)]);
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
