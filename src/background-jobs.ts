import type { Config } from './config.ts';
import { createDatabase } from './database.ts';
import type { AppDeps } from './http/app.ts';
import { startDeliverer } from './audit/stream/deliverer.ts';
import { emitCheckpoint, watchChain } from './audit/watch.ts';
import type { Policy } from './policy/policy.ts';
import { refreshSecretAgePeriodically } from './secrets/secret-age-refresh.ts';
import { ageGauges, chainGauges, streamGauges } from './wiring.ts';

/**
 * What `npm start` runs beside the requests: the audit stream to the SIEM (when configured), the
 * chain's watch (incremental verify, checkpoints) and the secret-age refresh. They hold connections for
 * seconds at a time, so they get a pool of their own and never take one a request needs. `stop` ends all
 * of them, writes a last checkpoint, and only then closes their pool.
 */

/** Between accounts in a secret-age refresh: well under Vonage's rate limits however many accounts. */
const AGE_REFRESH_SPACING_MS = 1_000;
const MINUTE_MS = 60_000;

export function startBackgroundJobs(
  deps: Omit<AppDeps, 'lifecycle'>,
  config: Config,
  policy: Policy,
): { stop: () => Promise<void> } {
  const { logger, metrics } = deps;
  const db = createDatabase({ connectionString: config.databaseUrl, logger, max: 3, statementTimeoutMs: 120_000 });
  const stream = config.auditStream;
  const deliverer = stream && startDeliverer(db, stream, { logger, gauges: streamGauges(metrics) });
  const stopWatching = watchChain(db, {
    logger,
    gauges: chainGauges(metrics),
    verifyEveryMs: config.auditVerifyIntervalMinutes * MINUTE_MS,
    anchorEveryMs: config.auditAnchorIntervalMinutes * MINUTE_MS,
    stream,
  });
  const ages = {
    db,
    policy,
    vonage: deps.vonage,
    maxAgeDays: config.secretMaxAgeDays,
    staleAfterHours: config.rotationStaleAfterHours,
  };
  const stopRefreshing = refreshSecretAgePeriodically(ages, ageGauges(metrics), {
    intervalMs: config.secretAgeRefreshMinutes * MINUTE_MS,
    spacingMs: AGE_REFRESH_SPACING_MS,
    logger,
  });
  return {
    stop: async () => {
      stopWatching();
      stopRefreshing();
      try {
        await emitCheckpoint(db, logger, stream);
        await deliverer?.stop();
      } finally {
        await db.destroy();
      }
    },
  };
}
