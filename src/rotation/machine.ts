import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import type { RotationState } from './rotations.table.ts';
import { type Rotation, toRotation } from './store.ts';

/**
 * A rotation's life as one state machine. Every state change goes through `transition`, which writes
 * only a move this table allows and only if the row is still exactly as the caller read it (its
 * `version`, bumped by every move). So two requests that race on one rotation never both act: the loser is told
 * the state the winner left, as a 409, before it has called Vonage.
 *
 *   creating ─► testing ─► awaiting_cutover ─► completing ─► completed
 *      │           │              │      ▲          │
 *      └──► failed ◄┘             └► cancelling ─► cancelled   (a failed revoke returns to awaiting_cutover)
 *
 * A state may also move to itself: a request taking over a row whose lease ran out (a crashed process).
 */
export const TRANSITIONS: Readonly<Record<RotationState, readonly RotationState[]>> = {
  creating: ['testing', 'failed'],
  testing: ['awaiting_cutover', 'failed'],
  awaiting_cutover: ['completing', 'cancelling'],
  completing: ['completed', 'awaiting_cutover'],
  cancelling: ['cancelled', 'awaiting_cutover'],
  completed: [],
  cancelled: [],
  failed: [],
};

/** States in which a request is working on the rotation; past the lease, that request's process died. */
const LEASED: RotationState[] = ['creating', 'testing', 'completing', 'cancelling'];

export const isInterrupted = (rotation: Rotation, leaseMs: number, now = Date.now()) =>
  LEASED.includes(rotation.state) && now - rotation.updatedAt.getTime() > leaseMs;

const lostRace = (rotation: Pick<Rotation, 'id' | 'state'>, expected: RotationState) =>
  new AppError(
    'rotation-conflict',
    409,
    `Rotation ${rotation.id} is ${rotation.state}, not ${expected}: another request changed it first.`,
  );

export interface Changes {
  newSecret?: { id: string; createdAt: string };
  failure?: string;
}

/** Moves `rotation` (as the caller read it) to `to`; a 409 naming the current state if anyone moved it first. */
export async function transition(
  db: Kysely<Database>,
  rotation: Rotation,
  to: RotationState,
  changes: Changes = {},
): Promise<Rotation> {
  if (to !== rotation.state && !TRANSITIONS[rotation.state].includes(to)) {
    throw new Error(`rotation ${rotation.id}: ${rotation.state} → ${to} is not a transition`);
  }
  const row = await db
    .updateTable('rotations')
    .set({
      state: to,
      updated_at: sql<Date>`clock_timestamp()` as unknown as Date,
      version: rotation.version + 1,
      ...(changes.newSecret
        ? { new_secret_id: changes.newSecret.id, new_secret_created_at: changes.newSecret.createdAt }
        : {}),
      ...(changes.failure ? { failure: changes.failure } : {}),
    })
    .where('id', '=', rotation.id)
    .where('version', '=', rotation.version)
    .returningAll()
    .executeTakeFirst();
  if (row) return toRotation(row);
  const now = await db.selectFrom('rotations').select(['id', 'state']).where('id', '=', rotation.id).executeTakeFirst();
  throw lostRace(now ?? rotation, rotation.state);
}
