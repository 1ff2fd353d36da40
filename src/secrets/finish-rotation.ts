import type { AuditAttempt } from '../audit/recorder.ts';
import { auditTrail } from '../audit/trail.ts';
import { deliveringOn } from '../delivery/store.ts';
import { AppError } from '../errors.ts';
import { isInterrupted, transition } from '../rotation/machine.ts';
import { findRotation, type Rotation } from '../rotation/store.ts';
import { authorizeRotation, type RotationDeps, type RotationInput } from './rotation-deps.ts';
import { cleanUpInterrupted, revokeStep } from './rotation-steps.ts';

/**
 * Completing (consumers moved: revoke the retired secret) or cancelling (revoke the new one) a rotation
 * awaiting cutover. The request claims the row (`completing` / `cancelling`) before it calls Vonage, so
 * of two racing requests exactly one revokes; the other gets a 409 naming the state. A failed revoke
 * hands the rotation back (awaiting cutover). Repeating a finish that already happened answers the
 * rotation as it is. Cancelling also cleans up a rotation a crash interrupted.
 */
export type Finish = { claim: 'completing'; done: 'completed' } | { claim: 'cancelling'; done: 'cancelled' };
export const COMPLETE: Finish = { claim: 'completing', done: 'completed' };
export const CANCEL: Finish = { claim: 'cancelling', done: 'cancelled' };

async function found(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  authorizeRotation(deps, input);
  const rotation = await findRotation(deps.db, input.attempt.apiKey, input.rotationId);
  if (!rotation) {
    throw new AppError('not-found', 404, `There is no rotation ${input.rotationId} on ${input.attempt.apiKey}.`);
  }
  if (rotation.consumerId && (await deliveringOn(deps.db, rotation.apiKey))?.id === rotation.consumerId) {
    throw new AppError(
      'rotation-conflict',
      409,
      `Rotation ${rotation.id} is a delivery: its consumer's next delivery finishes it, because only the consumer ` +
        "knows which secret it holds. Revoke the consumer's token first to finish it by hand.",
    );
  }
  return rotation;
}

/** The row this request may act on: claimed from awaiting cutover, or taken over from a crashed claim. */
function claim(deps: RotationDeps, rotation: Rotation, finish: Finish): Promise<Rotation> {
  const stale = rotation.state === finish.claim && isInterrupted(rotation, deps.rotationLeaseMs);
  if (rotation.state === 'awaiting_cutover' || stale) return transition(deps.db, rotation, finish.claim);
  throw new AppError('rotation-conflict', 409, `Rotation ${rotation.id} is ${rotation.state}, not awaiting cutover.`);
}

/** A rotation a crash left in creating or testing: cancelling it is the way to clean it up. */
const crashedBeforeTest = (deps: RotationDeps, rotation: Rotation) =>
  (rotation.state === 'creating' || rotation.state === 'testing') && isInterrupted(rotation, deps.rotationLeaseMs);

/** Claims `current` (as read) for `finish`, or answers it as it is when there is nothing left to do. */
export function claimFinish(deps: RotationDeps, current: Rotation, finish: Finish): Promise<Rotation> | Rotation {
  const asIs = current.state === finish.done || (finish === CANCEL && crashedBeforeTest(deps, current));
  return asIs ? current : claim(deps, current, finish);
}

/** The Vonage half of a finish, on a row this request claimed (or one a crash left behind). */
export async function finishClaimed(
  deps: RotationDeps,
  attempt: AuditAttempt,
  rotation: Rotation,
  finish: Finish,
): Promise<Rotation> {
  if (rotation.state === finish.done) return rotation;
  if (rotation.state === 'creating' || rotation.state === 'testing') {
    await cleanUpInterrupted(deps, attempt, rotation);
    return (await findRotation(deps.db, rotation.apiKey, rotation.id)) ?? rotation;
  }
  try {
    const target = finish === COMPLETE ? rotation.retireSecretId : rotation.newSecret?.id;
    if (target) await revokeStep(deps, attempt, rotation, target);
  } catch (error) {
    await transition(deps.db, rotation, 'awaiting_cutover');
    throw error;
  }
  return transition(deps.db, rotation, finish.done);
}

async function finishWith(deps: RotationDeps, input: RotationInput, finish: Finish): Promise<Rotation> {
  const trail = auditTrail(deps.audit, input.attempt);
  const rotation = await trail.refusalsRecorded(async () => claimFinish(deps, await found(deps, input), finish));
  return finishClaimed(deps, input.attempt, rotation, finish);
}

export function completeRotation(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  return finishWith(deps, input, COMPLETE);
}

export function cancelRotation(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  return finishWith(deps, input, CANCEL);
}
