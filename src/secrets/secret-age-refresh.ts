import { sql } from 'kysely';
import type { Logger } from '../logger.ts';
import { type Repeating, repeat } from '../repeat.ts';
import { awaitingCutoverCounts } from '../rotation/store.ts';
import { type SecretAgeDeps, secretAgeReport } from './secret-age.ts';

/**
 * Keeps the secret-age gauges current: every interval, one replica at a time (a transaction-scoped
 * Postgres advisory lock; the others skip that round) asks Vonage about each account, spaced out.
 */
export interface AgeGauges {
  oldestAgeSeconds(apiKey: string, seconds: number): void;
  awaitingCutover(apiKey: string, count: number): void;
}

const LOCK_KEY = 7_340_915; // this job's advisory lock; any constant unique within the database

export async function refreshSecretAge(
  deps: SecretAgeDeps,
  gauges: AgeGauges,
  spacingMs: number,
  stop?: AbortSignal,
): Promise<'refreshed' | 'skipped'> {
  return deps.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${LOCK_KEY}) as locked`.execute(
      trx,
    );
    if (!rows[0]?.locked) return 'skipped';
    const awaiting = await awaitingCutoverCounts(trx);
    for (const account of await secretAgeReport({ ...deps, db: trx }, spacingMs, Date.now(), stop)) {
      if (account.oldest_age_days !== null) gauges.oldestAgeSeconds(account.api_key, account.oldest_age_days * 86_400);
      gauges.awaitingCutover(account.api_key, awaiting.get(account.api_key) ?? 0);
    }
    return 'refreshed';
  });
}

export function refreshSecretAgePeriodically(
  deps: SecretAgeDeps,
  gauges: AgeGauges,
  options: { intervalMs: number; spacingMs: number; logger: Logger },
): Repeating {
  return repeat(options.intervalMs, (stop) =>
    refreshSecretAge(deps, gauges, options.spacingMs, stop).catch((error: unknown) =>
      options.logger.warn('secret-age refresh failed', { error: (error as Error).message }),
    ),
  );
}
