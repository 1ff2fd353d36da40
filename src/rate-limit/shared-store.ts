import { type ClientRateLimitInfo, MemoryStore, type Options, type Store } from 'express-rate-limit';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import type { Logger } from '../logger.ts';

/**
 * A rate-limit store shared by all replicas through Postgres, with a per-instance memory store behind
 * it: while Postgres is unreachable, limits still hold on each instance, and the shared store is tried
 * again after a short pause, so the service recovers by itself when Postgres returns.
 */

const RETRY_SHARED_AFTER_MS = 5_000;

async function incrementShared(db: Kysely<Database>, key: string, windowMs: number): Promise<ClientRateLimitInfo> {
  const window = sql`make_interval(secs => ${windowMs / 1000})`;
  const { rows } = await sql<{ hits: number; reset_at: Date }>`
    insert into rate_limit_hits as r (key, hits, reset_at) values (${key}, 1, now() + ${window})
    on conflict (key) do update set
      hits = case when r.reset_at <= now() then 1 else r.hits + 1 end,
      reset_at = case when r.reset_at <= now() then now() + ${window} else r.reset_at end
    returning hits, reset_at`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('rate-limit upsert returned no row');
  return { totalHits: row.hits, resetTime: new Date(row.reset_at) };
}

export function sharedRateLimitStore(
  db: Kysely<Database>,
  logger: Logger,
  prefix: string,
  retrySharedAfterMs = RETRY_SHARED_AFTER_MS,
): Store {
  const local = new MemoryStore();
  let windowMs = 60_000;
  let sharedPausedUntil = 0;

  async function viaShared<T>(shared: () => Promise<T>, fallback: () => Promise<T> | T): Promise<T> {
    if (Date.now() < sharedPausedUntil) return fallback();
    try {
      return await shared();
    } catch (error) {
      sharedPausedUntil = Date.now() + retrySharedAfterMs;
      logger.warn('shared rate-limit store unavailable; limiting per instance for now', {
        prefix,
        error: (error as Error).message,
      });
      return fallback();
    }
  }

  return {
    prefix,
    localKeys: false,
    init(options: Options) {
      windowMs = options.windowMs;
      local.init(options);
    },
    increment: (key) =>
      viaShared(
        () => incrementShared(db, prefix + key, windowMs),
        () => local.increment(key),
      ),
    decrement: (key) =>
      viaShared(
        async () =>
          void (await sql`update rate_limit_hits set hits = greatest(hits - 1, 0) where key = ${prefix + key}`.execute(
            db,
          )),
        () => local.decrement(key),
      ),
    resetKey: (key) =>
      viaShared(
        async () => void (await sql`delete from rate_limit_hits where key = ${prefix + key}`.execute(db)),
        () => local.resetKey(key),
      ),
    shutdown: () => local.shutdown(),
  };
}
