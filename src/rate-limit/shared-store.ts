import { type ClientRateLimitInfo, MemoryStore, type Options, type Store } from 'express-rate-limit';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import type { Logger } from '../logger.ts';
import { blockFor, type Lease, leaseShared, nextBlock } from './leases.ts';

/**
 * Rate limits shared by all replicas through Postgres, without a round trip per request (the idea of
 * Google's Doorman and Envoy's global limits with local buckets). A replica leases a block of a caller's
 * budget in one round trip and spends it locally; leased hits count as spent in the shared row, so no
 * caller ever gets more than the limit, whatever the number of replicas. The block is small near the
 * limit and larger far from it. Unused lease lapses with the window, or is handed back on shutdown.
 * While Postgres is unreachable, each instance limits on its own, and the shared budget is tried again
 * after a short pause, so the service recovers by itself.
 */

const RETRY_SHARED_AFTER_MS = 5_000;
export type SharedStore = Store & { releaseLeases(): Promise<void> };

export interface SharedStoreOptions {
  /** After Postgres fails, how long each instance limits on its own before trying the shared budget again. */
  retrySharedAfterMs?: number;
  /** Told each time a request has to wait for a lease (a round trip to Postgres on the request's path). */
  onLeaseWait?: () => void;
}

export function sharedRateLimitStore(
  db: Kysely<Database>,
  logger: Logger,
  prefix: string,
  { retrySharedAfterMs = RETRY_SHARED_AFTER_MS, onLeaseWait }: SharedStoreOptions = {},
): SharedStore {
  const local = new MemoryStore();
  const leases = new Map<string, Lease>();
  let windowMs = 60_000;
  let limit = 1;
  let sharedPausedUntil = 0;

  /** Requests for each key waiting for a lease (not yet answered): what the next lease has to cover. */
  const pending = new Map<string, number>();
  const live = (held: Lease | undefined): held is Lease => held !== undefined && held.resetAt.getTime() > Date.now();

  /** A first lease waits one turn of the event loop, so that a burst arriving at once is counted whole. */
  async function sizeFor(key: string, current: Lease | undefined, ahead: boolean) {
    if (!current) await new Promise((resolve) => setImmediate(resolve));
    return nextBlock(limit, current, ahead ? 0 : Math.max(1, pending.get(key) ?? 0));
  }

  async function lease(key: string, ahead: boolean): Promise<Lease | null> {
    if (Date.now() < sharedPausedUntil) return null;
    const held = leases.get(key);
    const current = live(held) ? held : undefined;
    try {
      const { want, exact } = await sizeFor(key, current, ahead);
      const got = await leaseShared(db, prefix + key, want, limit, windowMs);
      const sameWindow = current && current.resetAt.getTime() === got.resetAt.getTime();
      const next = {
        remaining: (sameWindow ? current.remaining : 0) + got.granted,
        granted: got.granted,
        sharedHits: got.hits,
        resetAt: got.resetAt,
        exact,
      };
      leases.set(key, next);
      return next;
    } catch (error) {
      sharedPausedUntil = Date.now() + retrySharedAfterMs;
      logger.warn('shared rate-limit store unavailable; limiting per instance for now', {
        prefix,
        error: (error as Error).message,
      });
      return null;
    }
  }

  /** One lease in flight per key: concurrent requests that find the block empty wait for the same one. */
  const inFlight = new Map<string, Promise<Lease | null>>();
  const leaseOnce = (key: string, ahead = false) => {
    let leasing = inFlight.get(key);
    if (!leasing) {
      leasing = lease(key, ahead).finally(() => inFlight.delete(key));
      inFlight.set(key, leasing);
    }
    return leasing;
  };

  /**
   * Asks for the next block while a quarter of this one is left, so that at a steady rate no request
   * waits for Postgres. The next block is leased from the shared row like any other: the sum over
   * replicas still never exceeds the limit.
   */
  const refillAhead = (key: string, held: Lease) => {
    // Only far from the limit: a block read ahead and left unused is budget another replica lacks, and
    // there it can never be more than the slack a caller within its limit leaves. Never behind an exact
    // block: the burst it served may be all the caller sends.
    const ahead = blockFor(limit, held.sharedHits);
    if (held.exact || held.remaining === 0 || held.remaining * 4 > held.granted) return;
    if (held.sharedHits + ahead > limit / 2 || inFlight.has(key)) return;
    void leaseOnce(key, true);
  };

  const refused = (held: Lease) => ({ totalHits: limit + 1, resetTime: held.resetAt });

  /** The answer from the block held, if it gives one: served, or refused once the shared budget is spent. */
  function take(key: string): ClientRateLimitInfo | undefined {
    const held = leases.get(key);
    if (!live(held)) return undefined;
    if (held.remaining > 0) {
      held.remaining -= 1;
      refillAhead(key, held);
      // Hits leased anywhere count as used, so the headers never promise more than is left.
      return { totalHits: Math.max(1, held.sharedHits - held.remaining), resetTime: held.resetAt };
    }
    // Refused here, without asking Postgres again.
    return held.sharedHits >= limit ? refused(held) : undefined;
  }

  /**
   * Waiters woken by one lease share its block; whoever finds it spent leases again, until the request is
   * served or a lease grants nothing, which only happens when the shared budget is spent. Blocks shrink as
   * the budget runs low but are never empty while some is left, so this ends. A waiter stops counting as
   * pending in the turn it is answered, so a lease never covers a request already served.
   */
  async function increment(key: string): Promise<ClientRateLimitInfo> {
    const now = take(key);
    if (now) return now;
    pending.set(key, (pending.get(key) ?? 0) + 1);
    let waiting = true;
    const leave = () => {
      if (!waiting) return;
      waiting = false;
      const left = (pending.get(key) ?? 1) - 1;
      if (left > 0) pending.set(key, left);
      else pending.delete(key);
    };
    try {
      for (;;) {
        onLeaseWait?.();
        const got = await leaseOnce(key);
        const answer = got ? (take(key) ?? (got.granted === 0 ? refused(got) : undefined)) : undefined;
        if (!got || answer) leave();
        if (!got) return local.increment(key);
        if (answer) return answer;
      }
    } finally {
      leave();
    }
  }

  return {
    prefix,
    localKeys: false,
    init(options: Options) {
      windowMs = options.windowMs;
      limit = typeof options.limit === 'number' ? options.limit : limit;
      local.init(options);
    },
    increment,
    decrement: async (key) => {
      const held = leases.get(key);
      if (held) held.remaining += 1;
      else await local.decrement(key);
    },
    resetKey: async (key) => {
      leases.delete(key);
      await local.resetKey(key);
      await sql`delete from rate_limit_hits where key = ${prefix + key}`.execute(db).catch(() => undefined);
    },
    /** Hands unused leases back to the shared budget (on shutdown), for the window they came from. */
    async releaseLeases() {
      for (const [key, held] of leases) {
        if (held.remaining === 0 || held.resetAt.getTime() <= Date.now()) continue;
        await sql`update rate_limit_hits set hits = greatest(0, hits - ${held.remaining})
          where key = ${prefix + key} and date_trunc('milliseconds', reset_at) = ${held.resetAt}`
          .execute(db)
          .catch(() => undefined);
      }
      leases.clear();
    },
    shutdown: () => local.shutdown(),
  };
}
