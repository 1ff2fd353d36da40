import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';

/**
 * Reads that can take seconds (chain verification, CSV/NDJSON exports) run on their own small pool
 * under a concurrency cap, so they can never take the connections that creates, revokes and readiness
 * need. A call over the cap is refused at once with 503 and a time to retry, never queued into a 500.
 */
export interface LongReads {
  run<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
}

export const LONG_READ_RETRY_AFTER_S = 5;

export function createLongReads(db: Kysely<Database>, maxConcurrent: number): LongReads {
  let active = 0;
  return {
    async run(work) {
      if (active >= maxConcurrent) {
        throw new AppError('busy', 503, 'Too many verifications or exports are running; retry shortly.', {
          retryAfterSeconds: LONG_READ_RETRY_AFTER_S,
        });
      }
      active += 1;
      try {
        return await work(db);
      } finally {
        active -= 1;
      }
    },
  };
}
