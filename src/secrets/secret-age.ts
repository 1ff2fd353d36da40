import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { Policy } from '../policy/policy.ts';
import { awaitingCutoverSince } from '../rotation/store.ts';
import type { VonageSecrets } from '../vonage/client.ts';

/**
 * Which accounts have secrets older than policy allows, and which rotations were left half-done (two
 * live secrets) longer than allowed. Vonage is asked once per managed account, one after another,
 * `spacingMs` apart, so a report never trips Vonage's rate limits. An account Vonage cannot answer for
 * is reported with its error rather than failing the whole report.
 */
export interface SecretAgeDeps {
  db: Kysely<Database>;
  policy: Policy;
  vonage: VonageSecrets;
  maxAgeDays: number;
  staleAfterHours: number;
}

export interface AccountAge {
  api_key: string;
  secrets: Array<{ id: string; created_at: string; age_days: number; overdue: boolean }>;
  oldest_age_days: number | null;
  stale_rotations: Array<{ id: string; started_at: string; started_by: string; awaiting_hours: number }>;
  error: string | null;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Resolves after `ms`, or at once when `stop` is aborted (a shutdown does not wait out the pacing). */
const pause = (ms: number, stop?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
  });

async function staleRotations(deps: SecretAgeDeps, now: number) {
  const rotations = await awaitingCutoverSince(deps.db, new Date(now - deps.staleAfterHours * HOUR_MS));
  return rotations.map((r) => ({
    api_key: r.apiKey,
    id: r.id,
    started_at: r.startedAt.toISOString(),
    started_by: r.startedBy,
    awaiting_hours: Math.floor((now - r.updatedAt.getTime()) / HOUR_MS),
  }));
}

export async function secretAgeReport(
  deps: SecretAgeDeps,
  spacingMs = 0,
  now = Date.now(),
  stop?: AbortSignal,
): Promise<AccountAge[]> {
  const stale = await staleRotations(deps, now);
  const accounts: AccountAge[] = [];
  for (const apiKey of deps.policy.accounts) {
    if (accounts.length > 0 && spacingMs > 0) await pause(spacingMs, stop);
    if (stop?.aborted) break;
    const rotations = stale.filter((r) => r.api_key === apiKey).map(({ api_key: _, ...rotation }) => rotation);
    try {
      const secrets = (await deps.vonage.list(apiKey)).value.map((s) => {
        const age = Math.floor((now - Date.parse(s.created_at)) / DAY_MS);
        return { id: s.id, created_at: s.created_at, age_days: age, overdue: age > deps.maxAgeDays };
      });
      const oldest = secrets.length === 0 ? null : Math.max(...secrets.map((s) => s.age_days));
      accounts.push({ api_key: apiKey, secrets, oldest_age_days: oldest, stale_rotations: rotations, error: null });
    } catch (error) {
      accounts.push({
        api_key: apiKey,
        secrets: [],
        oldest_age_days: null,
        stale_rotations: rotations,
        error: (error as Error).message,
      });
    }
  }
  return accounts;
}

export const CSV_HEADER = 'kind,api_key,id,created_at,age_days,overdue\r\n';

/** One row per secret and per stale rotation, for a spreadsheet or a ticket. */
export function toCsv(accounts: AccountAge[]): string {
  const rows = accounts.flatMap((a) => [
    ...a.secrets.map((s) => `secret,${a.api_key},${s.id},${s.created_at},${s.age_days},${s.overdue}`),
    ...a.stale_rotations.map(
      (r) => `stale_rotation,${a.api_key},${r.id},${r.started_at},${Math.floor(r.awaiting_hours / 24)},true`,
    ),
  ]);
  return CSV_HEADER + rows.map((row) => `${row}\r\n`).join('');
}
