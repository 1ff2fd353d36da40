import { auditTrail } from '../audit/trail.ts';
import { AppError, unavailable } from '../errors.ts';
import { authorize } from '../policy/authorize.ts';
import { rotationHolding } from '../rotation/store.ts';
import type { AuditedInput, SecretsDeps } from './deps.ts';

export interface RevokeSecretInput extends AuditedInput {
  secretId: string;
}

/**
 * Revoking a secret, the whole story: the caller's identity was verified and the attempt declared by
 * the route; then policy → not held by a rotation → audit intent → Vonage → audit outcome. A refusal before the intent (404,
 * 403) is audited as that refusal. Vonage's own rule (never the last secret) comes back as a 409.
 */
/** A rotation in progress owns both its secrets: revoking one by hand would leave it pointing at nothing. */
async function assertNotInRotation(deps: SecretsDeps, apiKey: string, secretId: string): Promise<void> {
  // The rotations live beside the audit log: if they cannot be read, the revoke could not be audited either.
  const rotation = await rotationHolding(deps.db, apiKey, secretId).catch((error: unknown) => {
    throw unavailable('audit-unavailable', error);
  });
  if (!rotation) return;
  const role = rotation.retireSecretId === secretId ? 'the secret it retires' : 'its new secret';
  throw new AppError(
    'rotation-conflict',
    409,
    `${secretId} is ${role} in rotation ${rotation.id} (${rotation.state}); complete or cancel that rotation instead.`,
  );
}

export async function revokeSecret(deps: SecretsDeps, input: RevokeSecretInput): Promise<void> {
  const { attempt, secretId } = input;
  const trail = auditTrail(deps.audit, attempt);
  await trail.refusalsRecorded(async () => {
    authorize(deps.policy, attempt.actor, 'secrets:revoke', attempt.apiKey);
    await assertNotInRotation(deps, attempt.apiKey, secretId);
    await trail.call({ status: 204 }, () => deps.vonage.revoke(attempt.apiKey, secretId, input.observe));
  });
}
