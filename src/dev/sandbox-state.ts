import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** The sandbox's accounts and their secrets, and how they survive a restart of `npm run dev`. */

/** A secret as the sandbox keeps it: its id, date, and a SHA-256 of its value (never the value). */
export type Stored = { id: string; created_at: string; hash?: string };
export const digest = (value: string) => createHash('sha256').update(value).digest('hex');

export const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A Vonage account always has one secret; a state file from an earlier run restores what it had. */
export function initialAccounts(options: {
  masterKey: string;
  subAccounts?: string[];
  stateFile?: string;
}): Map<string, Stored[]> {
  const saved =
    options.stateFile && existsSync(options.stateFile)
      ? (JSON.parse(readFileSync(options.stateFile, 'utf8')) as Record<string, Stored[]>)
      : {};
  const accounts = new Map<string, Stored[]>();
  for (const key of [options.masterKey, ...(options.subAccounts ?? [])]) {
    accounts.set(key, saved[key]?.length ? saved[key] : [{ id: randomUUID(), created_at: now() }]);
  }
  return accounts;
}

/** Written whole and renamed into place, so a crash mid-write never leaves half a file. */
export function saveAccounts(file: string, accounts: Map<string, Stored[]>): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(Object.fromEntries(accounts)));
  renameSync(`${file}.tmp`, file);
}
