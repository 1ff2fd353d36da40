import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Policy } from '../policy/policy.ts';
import { repeat } from '../repeat.ts';
import { awaitingCutoverCounts } from '../rotation/store.ts';
import { type Consumer, deliveringConsumers } from '../delivery/store.ts';
import type { VonageSecrets } from '../vonage/client.ts';
import type { EstateDirectory } from './directory.ts';
import { recordSecrets, saveDiscovered, saveStatic } from './store.ts';

/**
 * One pass over the estate, by one replica at a time (a session advisory lock; the others skip the round):
 * ask Vonage for the primary account's subaccounts, then list each managed account's secrets into the
 * snapshot. The Subaccounts API is restricted: a 401, 403 or 404 means it is not provisioned for this
 * account, and the gateway carries on with the policy's static list. Calls go one at a time, `spacingMs`
 * apart, so a pass uses one upstream connection and a small share of Vonage's rate limit.
 */
export interface EstateGauges {
  discovery(source: 'vonage' | 'static', accounts: number, ok: boolean): void;
  oldestAgeSeconds(apiKey: string, seconds: number): void;
  awaitingCutover(apiKey: string, count: number): void;
  /** Every consumer with delivery on, replacing the last pass's (a revoked one drops out). */
  consumers(consumers: Consumer[]): void;
}

export interface RefreshDeps {
  db: Kysely<Database>;
  vonage: VonageSecrets;
  /** The policy as written: discovery on or off, the allow-list. */
  policy: Policy;
  directory: EstateDirectory;
  primaryKey: string;
  logger: Logger;
  gauges: EstateGauges;
}

export interface PassResult {
  outcome: 'refreshed' | 'skipped';
  upstreamCalls: number;
  /** Why the static list is in use, when it is. */
  staticBecause: string | null;
}

const LOCK_KEY = 7_340_915; // the secret-age refresh's lock, which this pass replaced
const NOT_PROVISIONED = [401, 403, 404];
const MAX_THROTTLE_WAIT_MS = 30_000;
const DAY_MS = 86_400_000;

const pause = (ms: number, stop?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || stop?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stop?.removeEventListener('abort', done);
      resolve();
    }
    stop?.addEventListener('abort', done, { once: true });
  });

/** The whole pass on one connection: the session lock's, which its writes (each autocommitted) share. */
export async function refreshEstate(deps: RefreshDeps, spacingMs: number, stop?: AbortSignal): Promise<PassResult> {
  return deps.db.connection().execute(async (conn) => {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${LOCK_KEY}) as locked`.execute(conn);
    if (!rows[0]?.locked) return { outcome: 'skipped', upstreamCalls: 0, staticBecause: null };
    try {
      return await pass({ ...deps, db: conn }, spacingMs, stop);
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(conn);
    }
  });
}

async function pass(deps: RefreshDeps, spacingMs: number, stop?: AbortSignal): Promise<PassResult> {
  const discovery = await discover(deps);
  await deps.directory.reload(deps.db);
  const listCalls = await listSecrets(deps, spacingMs, stop);
  const awaiting = await awaitingCutoverCounts(deps.db);
  for (const { apiKey } of deps.directory.list()) deps.gauges.awaitingCutover(apiKey, awaiting.get(apiKey) ?? 0);
  deps.gauges.consumers(await deliveringConsumers(deps.db));
  return { outcome: 'refreshed', upstreamCalls: discovery.calls + listCalls, staticBecause: discovery.note };
}

/** The account list: from Vonage when the policy allows and Vonage does; the static list otherwise. */
async function discover(deps: RefreshDeps): Promise<{ calls: number; note: string | null }> {
  const { policy } = deps;
  const staticKeys = [...(policy.allow ?? [deps.primaryKey])];
  if (!policy.discovery) {
    const note = 'discovery is off in the access policy';
    await saveStatic(deps.db, staticKeys, note);
    deps.gauges.discovery('static', staticKeys.length, true);
    return { calls: 0, note };
  }
  try {
    const { value } = await deps.vonage.listSubaccounts();
    await saveDiscovered(deps.db, value.primary, value.subaccounts);
    deps.gauges.discovery('vonage', value.subaccounts.length + (value.primary ? 1 : 0), true);
    return { calls: 1, note: null };
  } catch (error) {
    const status = error instanceof AppError ? error.options.upstreamStatus : undefined;
    if (status === undefined || !NOT_PROVISIONED.includes(status)) {
      deps.logger.warn('account discovery failed; keeping the last known accounts', {
        error: (error as Error).message,
      });
      deps.gauges.discovery(deps.directory.source, deps.directory.list().length, false);
      return { calls: 1, note: null };
    }
    const note = `the Subaccounts API answered ${status}: it is not provisioned for this Vonage account`;
    await saveStatic(deps.db, staticKeys, note);
    deps.gauges.discovery('static', staticKeys.length, true);
    return { calls: 1, note };
  }
}

/** Each managed account's secrets into the snapshot; an account Vonage cannot answer for is skipped. */
async function listSecrets(deps: RefreshDeps, spacingMs: number, stop?: AbortSignal): Promise<number> {
  let calls = 0;
  const now = Date.now();
  for (const { apiKey } of deps.directory.list()) {
    if (calls > 0) await pause(spacingMs, stop);
    if (stop?.aborted) break;
    calls += 1;
    try {
      const secrets = (await deps.vonage.list(apiKey)).value;
      await recordSecrets(deps.db, apiKey, secrets);
      const oldest = Math.min(...secrets.map((s) => Date.parse(s.created_at)).filter((t) => !Number.isNaN(t)));
      // Whole days, as the report and SECRET_MAX_AGE_DAYS count them.
      if (Number.isFinite(oldest)) deps.gauges.oldestAgeSeconds(apiKey, Math.floor((now - oldest) / DAY_MS) * 86_400);
    } catch (error) {
      await throttled(error, stop);
      deps.logger.warn('listing an account for the estate failed', {
        api_key: apiKey,
        error: (error as Error).message,
      });
    }
  }
  return calls;
}

/** Vonage said slow down: wait as long as it asked (bounded), so the pass never crowds out user traffic. */
async function throttled(error: unknown, stop?: AbortSignal) {
  if (!(error instanceof AppError) || error.options.upstreamStatus !== 429) return;
  const seconds = Number(error.options.upstreamThrottle?.['retry-after'] ?? 1);
  await pause(Math.min(seconds * 1000, MAX_THROTTLE_WAIT_MS), stop);
}

/** Every `intervalMs`: a pass, and one clear line when (and only when) the reason for the static list changes. */
export function refreshEstatePeriodically(deps: RefreshDeps, options: { intervalMs: number; spacingMs: number }) {
  let said: string | null = null;
  return repeat(options.intervalMs, async (stop) => {
    try {
      const pass = await refreshEstate(deps, options.spacingMs, stop);
      if (pass.outcome === 'refreshed' && pass.staticBecause !== said && pass.staticBecause !== null)
        deps.logger.warn(`account discovery: ${pass.staticBecause}; managing the access policy's accounts`);
      if (pass.outcome === 'refreshed') said = pass.staticBecause;
    } catch (error) {
      deps.logger.warn('estate refresh failed', { error: (error as Error).message });
    }
  });
}
