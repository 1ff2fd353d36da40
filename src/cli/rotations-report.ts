import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { listRotations } from '../rotation/store.ts';

/**
 * `npm run audit -- rotations --since 30d`: each rotation with its state and who started it, then
 * every audited step (from the audit log, by rotation_id) with its time, actor and outcome.
 */
export async function printRotations(
  db: Kysely<Database>,
  since: Date | undefined,
  out: (text: string) => Promise<void> | void,
) {
  const rotations = await listRotations(db, { since, limit: 1_000 });
  if (rotations.length === 0) return out('no rotations in that period\n');
  for (const rotation of rotations) {
    await out(
      `${rotation.id}  ${rotation.apiKey}  ${rotation.state}  started ${rotation.startedAt.toISOString()} by ${rotation.startedBy}\n`,
    );
    const steps = await db
      .selectFrom('audit_events as e')
      .leftJoin('audit_outcomes as o', 'o.event_id', 'e.id')
      .select(['e.occurred_at', 'e.action', 'e.actor_email', 'e.secret_id', 'o.outcome', 'o.status'])
      .where('e.rotation_id', '=', rotation.id)
      .orderBy('e.id')
      .execute();
    for (const s of steps) {
      const when = new Date(s.occurred_at).toISOString();
      await out(
        `  ${when}  ${s.action.padEnd(15)} ${(s.outcome ?? 'incomplete').padEnd(17)} ${s.status ?? ''}  ${s.secret_id ?? ''}  by ${s.actor_email}\n`,
      );
    }
  }
}
