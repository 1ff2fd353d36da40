import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';

/**
 * Reads that can take seconds (chain verification, CSV/NDJSON exports) run on their own small pool
 * under a concurrency cap, so they can never take the connections that creates, revokes and readiness
 * need. A caller holds at most one slot, so one reviewer's slow downloads cannot shut the others out.
 * A call over either cap is refused at once with 503 and a time to retry, never queued into a 500.
 */
export interface LongReads {
  /** `caller`: whose slot it is (an export); omitted, the work is shared by whoever asks (a verify walk). */
  run<T>(work: (db: Kysely<Database>) => Promise<T>, caller?: string): Promise<T>;
}

export const LONG_READ_RETRY_AFTER_S = 5;

const busy = (detail: string) => new AppError('busy', 503, detail, { retryAfterSeconds: LONG_READ_RETRY_AFTER_S });

export function createLongReads(db: Kysely<Database>, maxConcurrent: number): LongReads {
  let active = 0;
  const callers = new Set<string>();
  return {
    async run(work, caller) {
      if (caller !== undefined && callers.has(caller)) {
        throw busy('You already have a verification or export running; let it finish, then retry.');
      }
      if (active >= maxConcurrent) throw busy('Too many verifications or exports are running; retry shortly.');
      active += 1;
      if (caller !== undefined) callers.add(caller);
      try {
        return await work(db);
      } finally {
        active -= 1;
        if (caller !== undefined) callers.delete(caller);
      }
    },
  };
}
