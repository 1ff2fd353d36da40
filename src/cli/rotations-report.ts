import type { Kysely } from 'kysely';
import { toCsvCells } from '../audit/export-formats.ts';
import type { Database } from '../database.ts';
import { listRotations, type Rotation } from '../rotation/store.ts';

/**
 * `npm run audit -- rotations --since 30d [--format text|json|csv]`: each rotation with its state and who
 * started it, then every audited step (from the audit log, by rotation_id) with its time, actor, outcome
 * and the secret it touched (for a create, the one it made).
 */
export type RotationsFormat = 'text' | 'json' | 'csv';

interface Step {
  at: string;
  action: string;
  outcome: string;
  status: number | null;
  secret_id: string | null;
  actor: string;
}

async function stepsOf(db: Kysely<Database>, rotation: Rotation): Promise<Step[]> {
  const rows = await db
    .selectFrom('audit_events as e')
    .leftJoin('audit_outcomes as o', 'o.event_id', 'e.id')
    .select([
      'e.occurred_at',
      'e.action',
      'e.actor_email',
      'e.secret_id',
      'o.created_secret_id',
      'o.outcome',
      'o.status',
    ])
    .where('e.rotation_id', '=', rotation.id)
    .orderBy('e.id')
    .execute();
  return rows.map((s) => ({
    at: new Date(s.occurred_at).toISOString(),
    action: s.action,
    outcome: s.outcome ?? 'incomplete',
    status: s.status ?? null,
    secret_id: s.secret_id ?? s.created_secret_id ?? null,
    actor: s.actor_email,
  }));
}

const ROTATION_HEADER =
  'rotation_id,api_key,state,started_at,started_by,step_at,action,outcome,status,secret_id,actor\r\n';

function render(rotation: Rotation, steps: Step[], format: RotationsFormat): string {
  const started = rotation.startedAt.toISOString();
  if (format === 'json') {
    const { id, apiKey, state, startedBy } = rotation;
    return `${JSON.stringify({ id, api_key: apiKey, state, started_at: started, started_by: startedBy, steps })}\n`;
  }
  if (format === 'csv') {
    const head = [rotation.id, rotation.apiKey, rotation.state, started, rotation.startedBy];
    return steps.map((s) => toCsvCells([...head, s.at, s.action, s.outcome, s.status, s.secret_id, s.actor])).join('');
  }
  const lines = steps.map(
    (s) =>
      `  ${s.at}  ${s.action.padEnd(15)} ${s.outcome.padEnd(17)} ${s.status ?? ''}  ${s.secret_id ?? ''}  by ${s.actor}\n`,
  );
  return `${rotation.id}  ${rotation.apiKey}  ${rotation.state}  started ${started} by ${rotation.startedBy}\n${lines.join('')}`;
}

export async function printRotations(
  db: Kysely<Database>,
  since: Date | undefined,
  out: (text: string) => Promise<void> | void,
  format: RotationsFormat = 'text',
) {
  const rotations = await listRotations(db, { since, limit: 1_000 });
  if (format === 'csv') await out(ROTATION_HEADER);
  if (rotations.length === 0 && format === 'text') return out('no rotations in that period\n');
  for (const rotation of rotations) await out(render(rotation, await stepsOf(db, rotation), format));
}
