import { auditTrail } from '../audit/trail.ts';
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
type Finish = { claim: 'completing'; done: 'completed' } | { claim: 'cancelling'; done: 'cancelled' };
const COMPLETE: Finish = { claim: 'completing', done: 'completed' };
const CANCEL: Finish = { claim: 'cancelling', done: 'cancelled' };

async function found(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  authorizeRotation(deps, input);
  const rotation = await findRotation(deps.db, input.attempt.apiKey, input.rotationId);
  if (!rotation) {
    throw new AppError('not-found', 404, `There is no rotation ${input.rotationId} on ${input.attempt.apiKey}.`);
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

async function finishWith(deps: RotationDeps, input: RotationInput, finish: Finish): Promise<Rotation> {
  const trail = auditTrail(deps.audit, input.attempt);
  const rotation = await trail.refusalsRecorded(async () => {
    const current = await found(deps, input);
    const asIs = current.state === finish.done || (finish === CANCEL && crashedBeforeTest(deps, current));
    return asIs ? current : claim(deps, current, finish);
  });
  if (rotation.state === finish.done) return rotation;
  if (rotation.state === 'creating' || rotation.state === 'testing') {
    await cleanUpInterrupted(deps, input.attempt, rotation);
    return (await findRotation(deps.db, rotation.apiKey, rotation.id)) ?? rotation;
  }
  try {
    const target = finish === COMPLETE ? rotation.retireSecretId : rotation.newSecret?.id;
    if (target) await revokeStep(deps, input.attempt, rotation, target);
  } catch (error) {
    await transition(deps.db, rotation, 'awaiting_cutover');
    throw error;
  }
  return transition(deps.db, rotation, finish.done);
}

export function completeRotation(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  return finishWith(deps, input, COMPLETE);
}

export function cancelRotation(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  return finishWith(deps, input, CANCEL);
}
