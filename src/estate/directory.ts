import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import {
  type AccountDirectory,
  directoryOf,
  type ManagedAccount,
  matchesAccount,
  type Policy,
} from '../policy/policy.ts';
import { readSnapshot, type Snapshot } from './store.ts';

/**
 * Which accounts the gateway manages, on every replica: the last discovery's accounts (or, without it,
 * the static list), within the allow-list and outside `exclude`. Held in memory, because every request's
 * policy decision asks it; reloaded from Postgres after a discovery pass and every minute, so replicas
 * agree within a minute of a pass.
 */
export interface EstateDirectory extends AccountDirectory {
  /** When the estate was last refreshed from Vonage (or the static list was last applied). */
  readonly asOf: Date | null;
  reload(db: Kysely<Database>): Promise<void>;
}

/** The static candidates: the allow-list, or the primary account alone; names as last known. */
function staticCandidates(policy: Policy, snapshot: Snapshot, primaryKey: string): ManagedAccount[] {
  const known = new Map(snapshot.accounts.map((account) => [account.apiKey, account]));
  return [...(policy.allow ?? [primaryKey])].map(
    (apiKey) => known.get(apiKey) ?? { apiKey, name: null, suspended: false },
  );
}

export function managedAccounts(policy: Policy, snapshot: Snapshot, primaryKey: string): AccountDirectory {
  const discovered = policy.discovery && snapshot.source === 'vonage';
  const candidates = discovered ? snapshot.accounts : staticCandidates(policy, snapshot, primaryKey);
  const accounts = candidates
    .filter((account) => !discovered || policy.allow === null || policy.allow.has(account.apiKey))
    .filter((account) => !matchesAccount(policy.exclude, account))
    .sort((a, b) => (a.apiKey < b.apiKey ? -1 : 1));
  return directoryOf(accounts, discovered ? 'vonage' : 'static');
}

export function estateDirectory(policy: Policy, primaryKey: string): EstateDirectory {
  let current = managedAccounts(policy, { source: null, refreshedAt: null, accounts: [] }, primaryKey);
  let asOf: Date | null = null;
  return {
    get: (apiKey) => current.get(apiKey),
    list: () => current.list(),
    get source() {
      return current.source;
    },
    get asOf() {
      return asOf;
    },
    async reload(db) {
      const snapshot = await readSnapshot(db);
      current = managedAccounts(policy, snapshot, primaryKey);
      asOf = snapshot.refreshedAt;
    },
  };
}
