import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';

/**
 * Which of `secretIds` were produced by a recorded create that is not a step of `rotationId`: those
 * belong to someone (an engineer's create, another rotation), so a crashed rotation's clean-up must
 * never take them for its own.
 */
export async function createdOutside(
  db: Kysely<Database>,
  apiKey: string,
  secretIds: string[],
  rotationId: string,
): Promise<Set<string>> {
  if (secretIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('audit_outcomes as o')
    .innerJoin('audit_events as e', 'e.id', 'o.event_id')
    .select('o.created_secret_id')
    .where('o.api_key', '=', apiKey)
    .where('o.created_secret_id', 'in', secretIds)
    .where((eb) => eb.or([eb('e.rotation_id', 'is', null), eb('e.rotation_id', '!=', rotationId)]))
    .execute();
  return new Set(rows.map((row) => row.created_secret_id ?? ''));
}
