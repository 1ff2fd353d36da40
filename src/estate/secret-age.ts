import type { Kysely } from 'kysely';
import { toCsvCells } from '../audit/export-formats.ts';
import type { Database } from '../database.ts';
import type { Policy } from '../policy/policy.ts';
import { awaitingCutoverSince } from '../rotation/store.ts';

/**
 * Which accounts have secrets older than policy allows, and which rotations were left half-done (two
 * live secrets) longer than allowed: a reviewer's report, overdue accounts first. Read from the estate
 * snapshot (what Vonage listed at the last refresh, or at a user's own change since), so it costs no
 * Vonage call however many accounts there are; `as_of` says how fresh it is.
 */
export interface SecretAgeDeps {
  db: Kysely<Database>;
  policy: Policy;
  maxAgeDays: number;
  staleAfterHours: number;
}

export interface AccountAge {
  api_key: string;
  name: string | null;
  secrets: Array<{ id: string; created_at: string; age_days: number; overdue: boolean }>;
  oldest_age_days: number | null;
  stale_rotations: Array<{ id: string; started_at: string; started_by: string; awaiting_hours: number }>;
  error: string | null;
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const NOT_LISTED = 'not listed at Vonage yet: the next estate refresh lists it';

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

async function recorded(db: Kysely<Database>, keys: string[]) {
  if (keys.length === 0) return { listed: new Set<string>(), secrets: [] };
  const [accounts, secrets] = await Promise.all([
    db
      .selectFrom('estate_accounts')
      .select('api_key')
      .where('api_key', 'in', keys)
      .where('secrets_listed_at', 'is not', null)
      .execute(),
    db.selectFrom('estate_secrets').selectAll().where('api_key', 'in', keys).orderBy('created_at').execute(),
  ]);
  return { listed: new Set(accounts.map((a) => a.api_key)), secrets };
}

const byAge = (a: AccountAge, b: AccountAge) =>
  (b.oldest_age_days ?? -1) - (a.oldest_age_days ?? -1) || (a.api_key < b.api_key ? -1 : 1);

/** Rows grouped by account once, so the report is linear in its rows however many accounts there are. */
function byAccount<T extends { api_key: string }>(rows: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(row.api_key);
    if (group) group.push(row);
    else groups.set(row.api_key, [row]);
  }
  return groups;
}

export async function secretAgeReport(deps: SecretAgeDeps, now = Date.now()): Promise<AccountAge[]> {
  const managed = deps.policy.accounts.list();
  const keys = managed.map((a) => a.apiKey);
  const [stale, snapshot] = await Promise.all([staleRotations(deps, now), recorded(deps.db, keys)]);
  const [secretsOf, staleOf] = [byAccount(snapshot.secrets), byAccount(stale)];
  return managed
    .map(({ apiKey, name }) => {
      const secrets = (secretsOf.get(apiKey) ?? []).map((s) => {
        const age = Math.floor((now - s.created_at.getTime()) / DAY_MS);
        const createdAt = s.created_at.toISOString().replace(/\.000Z$/, 'Z');
        return { id: s.secret_id, created_at: createdAt, age_days: age, overdue: age > deps.maxAgeDays };
      });
      return {
        api_key: apiKey,
        name,
        secrets,
        oldest_age_days: secrets.length === 0 ? null : Math.max(...secrets.map((s) => s.age_days)),
        stale_rotations: (staleOf.get(apiKey) ?? []).map(({ api_key: _, ...rotation }) => rotation),
        error: snapshot.listed.has(apiKey) ? null : NOT_LISTED,
      };
    })
    .sort(byAge);
}

export const CSV_HEADER = toCsvCells(['kind', 'api_key', 'id', 'created_at', 'age_days', 'overdue', 'name']);

/** One row per secret and per stale rotation, for a spreadsheet or a ticket; a name is defused like any text. */
export function toCsv(accounts: AccountAge[]): string {
  const rows = accounts.flatMap((a) => [
    ...a.secrets.map((s) => toCsvCells(['secret', a.api_key, s.id, s.created_at, s.age_days, `${s.overdue}`, a.name])),
    ...a.stale_rotations.map((r) =>
      toCsvCells(['stale_rotation', a.api_key, r.id, r.started_at, Math.floor(r.awaiting_hours / 24), 'true', a.name]),
    ),
  ]);
  return CSV_HEADER + rows.join('');
}
