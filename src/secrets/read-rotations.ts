import { AppError } from '../errors.ts';
import type { Identity } from '../identity/identity.ts';
import { authorize } from '../policy/authorize.ts';
import { findRotation, listRotations, type Rotation } from '../rotation/store.ts';
import type { RotationDeps } from './rotation-deps.ts';

/** Reading rotations needs only secrets:read on the account; they hold ids and states, never values. */
export async function getRotations(deps: RotationDeps, caller: Identity, apiKey: string): Promise<Rotation[]> {
  authorize(deps.policy, caller, 'secrets:read', apiKey);
  return listRotations(deps.db, { apiKey });
}

export async function getRotation(deps: RotationDeps, caller: Identity, apiKey: string, id: string): Promise<Rotation> {
  authorize(deps.policy, caller, 'secrets:read', apiKey);
  const rotation = await findRotation(deps.db, apiKey, id);
  if (!rotation) throw new AppError('not-found', 404, `There is no rotation ${id} on ${apiKey}.`);
  return rotation;
}
