import { authorize } from '../policy/authorize.ts';
import type { AuditedInput, SecretsDeps } from './deps.ts';

/** What the rotation use cases need beyond the secret ones: the rotations table and the crash lease. */
export interface RotationDeps extends SecretsDeps {
  /** A rotation a request has held longer than this belonged to a process that died. */
  rotationLeaseMs: number;
}

export interface RotationInput extends AuditedInput {
  rotationId: string;
}

/** Every rotation step creates or revokes a secret, so each needs both actions on the account. */
export function authorizeRotation(deps: RotationDeps, input: RotationInput): void {
  authorize(deps.policy, input.attempt.actor, 'secrets:create', input.attempt.apiKey);
  authorize(deps.policy, input.attempt.actor, 'secrets:revoke', input.attempt.apiKey);
}
