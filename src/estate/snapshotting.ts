import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { Logger } from '../logger.ts';
import type { VonageSecrets } from '../vonage/client.ts';
import type { Secret } from '../vonage/schemas.ts';
import { addSecret, recordSecrets, removeSecret } from './store.ts';

/** Compared in place: this runs on every list, and building a key string for it cost more than the rest. */
function sameSecrets(before: Secret[] | undefined, now: Secret[]): boolean {
  if (before === undefined || before.length !== now.length) return false;
  return before.every((secret, i) => secret.id === now[i]?.id && secret.created_at === now[i]?.created_at);
}

/**
 * The Vonage client, writing what it learns into the estate snapshot before it answers: a live list
 * replaces the account's recorded secrets, a create adds one, a revoke removes one. So the accounts page
 * never shows a caller something older than their own last change, whichever replica served it.
 * The snapshot is a cache: a failed write is logged and left to the next discovery pass, never an error.
 * A list equal to the last one this process recorded writes nothing (the common case for reads).
 */
export function snapshotting(vonage: VonageSecrets, db: Kysely<Database>, logger: Logger): VonageSecrets {
  const recorded = new Map<string, Secret[]>();
  const remember = async (apiKey: string, write: () => Promise<void>, listed?: Secret[]) => {
    try {
      await write();
      if (listed === undefined) recorded.delete(apiKey);
      else recorded.set(apiKey, listed);
    } catch (error) {
      recorded.delete(apiKey);
      logger.warn('estate snapshot not updated', { api_key: apiKey, error: (error as Error).message });
    }
  };
  return {
    ...vonage,
    async list(apiKey, observe) {
      const answer = await vonage.list(apiKey, observe);
      if (!sameSecrets(recorded.get(apiKey), answer.value))
        await remember(apiKey, () => recordSecrets(db, apiKey, answer.value), answer.value);
      return answer;
    },
    async create(apiKey, secret, observe) {
      const answer = await vonage.create(apiKey, secret, observe);
      await remember(apiKey, () => addSecret(db, apiKey, answer.value));
      return answer;
    },
    async revoke(apiKey, secretId, observe) {
      const answer = await vonage.revoke(apiKey, secretId, observe);
      await remember(apiKey, () => removeSecret(db, apiKey, secretId));
      return answer;
    },
  };
}
