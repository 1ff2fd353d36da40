import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** The sandbox's accounts and their secrets, and how they survive a restart of `npm run dev`. */

/** A secret as the sandbox keeps it: its id, date, and a SHA-256 of its value (never the value). */
export type Stored = { id: string; created_at: string; hash?: string };
export const digest = (value: string) => createHash('sha256').update(value).digest('hex');

export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A subaccount as the Subaccounts API describes it; `secretCreatedAt` backdates its first secret. */
export interface SubAccount {
  apiKey: string;
  name?: string;
  suspended?: boolean;
  createdAt?: string;
  secretCreatedAt?: string;
}

export type SubAccountSpec = string | SubAccount;
export const subAccountOf = (spec: SubAccountSpec): SubAccount => (typeof spec === 'string' ? { apiKey: spec } : spec);

/** A Vonage account always has one secret; a state file from an earlier run restores what it had. */
export function initialAccounts(options: {
  masterKey: string;
  subAccounts?: SubAccountSpec[];
  stateFile?: string;
}): Map<string, Stored[]> {
  const saved =
    options.stateFile && existsSync(options.stateFile)
      ? (JSON.parse(readFileSync(options.stateFile, 'utf8')) as Record<string, Stored[]>)
      : {};
  const accounts = new Map<string, Stored[]>();
  for (const { apiKey, secretCreatedAt } of [
    { apiKey: options.masterKey },
    ...(options.subAccounts ?? []).map(subAccountOf),
  ]) {
    const first = { id: randomUUID(), created_at: secretCreatedAt ?? now() };
    accounts.set(apiKey, saved[apiKey]?.length ? saved[apiKey] : [first]);
  }
  return accounts;
}

/** Written whole and renamed into place, so a crash mid-write never leaves half a file. */
export function saveAccounts(file: string, accounts: Map<string, Stored[]>): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries(accounts)));
  renameSync(`${file}.tmp`, file);
}
