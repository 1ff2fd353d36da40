import { auditTrail } from '../audit/trail.ts';
import { AppError } from '../errors.ts';
import { findRotation, moveRotation, type Rotation } from '../rotation/store.ts';
import type { RotationState } from '../rotation/rotations.table.ts';
import { authorizeRotation, isInterrupted, type RotationDeps, type RotationInput } from './rotation-deps.ts';
import { cleanUpInterrupted, revokeStep } from './rotation-steps.ts';

/**
 * Completing (consumers moved: revoke the retired secret) or cancelling (revoke the new one) a
 * rotation awaiting cutover. Repeating a step that already happened answers the rotation as it is;
 * any other state is a 409 that names it. Cancelling also cleans up a rotation a crash interrupted.
 */
async function checked(
  deps: RotationDeps,
  input: RotationInput,
  done: RotationState,
  from: RotationState[],
): Promise<Rotation> {
  const { attempt } = input;
  authorizeRotation(deps, input);
  const rotation = await findRotation(deps.db, attempt.apiKey, input.rotationId);
  if (!rotation) throw new AppError('not-found', 404, `There is no rotation ${input.rotationId} on ${attempt.apiKey}.`);
  if (rotation.state !== done && !from.includes(rotation.state) && !isInterrupted(deps, rotation)) {
    throw new AppError('conflict', 409, `Rotation ${rotation.id} is ${rotation.state}, not awaiting cutover.`);
  }
  return rotation;
}

export async function completeRotation(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  const trail = auditTrail(deps.audit, input.attempt);
  const rotation = await trail.refusalsRecorded(() => checked(deps, input, 'completed', ['awaiting_cutover']));
  if (rotation.state === 'completed') return rotation;
  if (rotation.state !== 'awaiting_cutover') {
    throw new AppError('conflict', 409, `Rotation ${rotation.id} was interrupted before its test; cancel it.`);
  }
  await revokeStep(deps, input.attempt, rotation, rotation.retireSecretId);
  return (await moveRotation(deps.db, rotation.id, ['awaiting_cutover'], 'completed')) ?? rotation;
}

export async function cancelRotation(deps: RotationDeps, input: RotationInput): Promise<Rotation> {
  const trail = auditTrail(deps.audit, input.attempt);
  const rotation = await trail.refusalsRecorded(() => checked(deps, input, 'cancelled', ['awaiting_cutover']));
  if (rotation.state === 'cancelled') return rotation;
  if (rotation.state !== 'awaiting_cutover') {
    await cleanUpInterrupted(deps, input.attempt, rotation);
    return (await findRotation(deps.db, rotation.apiKey, rotation.id)) ?? rotation;
  }
  if (rotation.newSecret) await revokeStep(deps, input.attempt, rotation, rotation.newSecret.id);
  return (await moveRotation(deps.db, rotation.id, ['awaiting_cutover'], 'cancelled')) ?? rotation;
}
