import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { AppError, unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { claimKey, completeKey, fingerprint, releaseKey, type StoredResponse } from './store.ts';

/**
 * Idempotency-Key handling as one step of a use case, free of HTTP: claim the key, and then either
 * replay the stored answer or run the work once, storing its answer on success and letting the key go
 * on failure (the caller must be able to retry). Without a key, the work simply runs.
 */
export interface IdempotencyDeps {
  db: Kysely<Database>;
  logger: Logger;
  /** Keys the request fingerprints; exists only in the service's config. */
  hmacKey: string;
}

export interface KeyedRequest {
  caller: string;
  key: string | undefined;
  /** Everything that makes two requests "the same"; only its HMAC is stored. */
  request: unknown[];
}

export type Once =
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'run'; settle<T>(work: () => Promise<T>, store: (value: T) => StoredResponse): Promise<T> };

/** Claims the key: 409 while the first is in flight, 422 for another request, 503 if the store is down. */
export async function claimOnce(deps: IdempotencyDeps, keyed: KeyedRequest): Promise<Once> {
  const { caller, key } = keyed;
  if (key === undefined) return { kind: 'run', settle: (work) => work() };
  const claim = await claimKey(deps.db, caller, key, fingerprint(deps.hmacKey, keyed.request)).catch(
    (error: unknown) => {
      throw error instanceof AppError ? error : unavailable('idempotency-unavailable', error);
    },
  );
  if (claim.kind === 'replay') return { kind: 'replay', response: claim.response };
  return {
    kind: 'run',
    async settle(work, store) {
      let value: Awaited<ReturnType<typeof work>>;
      try {
        value = await work();
      } catch (error) {
        await releaseKey(deps.db, caller, key).catch(() => undefined); // an unreleased key expires its lease by itself
        throw error;
      }
      await completeKey(deps.db, caller, key, store(value)).catch((error: unknown) => {
        deps.logger.error('idempotency key not completed; a retry will be refused until its lease ends', {
          error: (error as Error).message,
        });
      });
      return value;
    },
  };
}
