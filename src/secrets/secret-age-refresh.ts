import { sql } from 'kysely';
import type { Logger } from '../logger.ts';
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
): Promise<'refreshed' | 'skipped'> {
  return deps.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${LOCK_KEY}) as locked`.execute(
      trx,
    );
    if (!rows[0]?.locked) return 'skipped';
    const awaiting = await trx
      .selectFrom('rotations')
      .select(['api_key', (eb) => eb.fn.countAll<string>().as('count')])
      .where('state', '=', 'awaiting_cutover')
      .groupBy('api_key')
      .execute();
    for (const account of await secretAgeReport({ ...deps, db: trx }, spacingMs)) {
      if (account.oldest_age_days !== null) gauges.oldestAgeSeconds(account.api_key, account.oldest_age_days * 86_400);
      gauges.awaitingCutover(account.api_key, Number(awaiting.find((a) => a.api_key === account.api_key)?.count ?? 0));
    }
    return 'refreshed';
  });
}

export function refreshSecretAgePeriodically(
  deps: SecretAgeDeps,
  gauges: AgeGauges,
  options: { intervalMs: number; spacingMs: number; logger: Logger },
): () => void {
  const run = () =>
    refreshSecretAge(deps, gauges, options.spacingMs).catch((error: unknown) =>
      options.logger.warn('secret-age refresh failed', { error: (error as Error).message }),
    );
  const timer = setInterval(run, options.intervalMs);
  timer.unref();
  void run();
  return () => clearInterval(timer);
}
