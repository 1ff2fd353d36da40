import type { AuditAttempt } from '../audit/recorder.ts';
import { auditTrail } from '../audit/trail.ts';
import { AppError } from '../errors.ts';
import type { Rotation } from '../rotation/store.ts';
import { moveRotation } from '../rotation/store.ts';
import type { Secret } from '../vonage/schemas.ts';
import type { RotationDeps } from './rotation-deps.ts';

/**
 * The audited Vonage steps a rotation is made of. Each is its own audit record (intent, then outcome),
 * carrying the rotation's id, so a reviewer sees every step and who caused it.
 */
export const stepOf = (
  attempt: AuditAttempt,
  rotation: Rotation,
  action: AuditAttempt['action'],
  secretId: string | null,
) => ({
  ...attempt,
  action,
  secretId,
  rotationId: rotation.id,
});

/** Revokes a secret as a rotation step; one Vonage no longer knows is already what we wanted. */
export async function revokeStep(
  deps: RotationDeps,
  attempt: AuditAttempt,
  rotation: Rotation,
  secretId: string,
): Promise<void> {
  try {
    await auditTrail(deps.audit, stepOf(attempt, rotation, 'secret.revoke', secretId)).call({ status: 204 }, () =>
      deps.vonage.revoke(rotation.apiKey, secretId),
    );
  } catch (error) {
    if (!(error instanceof AppError && error.status === 404)) throw error;
  }
}

export function createStep(
  deps: RotationDeps,
  attempt: AuditAttempt,
  rotation: Rotation,
  value: string,
): Promise<Secret> {
  return auditTrail(deps.audit, stepOf(attempt, rotation, 'secret.create', null)).call(
    { status: 201, createdSecretId: (secret) => secret.id },
    () => deps.vonage.create(rotation.apiKey, value),
  );
}

/** Authenticates to Vonage as the account itself with the new secret, as its consumers will. */
export async function testStep(
  deps: RotationDeps,
  attempt: AuditAttempt,
  rotation: Rotation,
  secret: Secret,
  value: string,
) {
  await auditTrail(deps.audit, stepOf(attempt, rotation, 'secret.test', secret.id)).call({ status: 200 }, async () => {
    const answer = await deps.vonage.authenticatesAs(rotation.apiKey, value);
    if (!answer.value) {
      throw new AppError('upstream-error', 502, 'The new secret did not authenticate to Vonage, so it was revoked.', {
        upstreamStatus: answer.upstreamStatus,
      });
    }
    return answer;
  });
}

/**
 * A rotation left in `creating` or `testing` past the lease belongs to a process that died. Its new
 * secret (known, or found as the account's secret that appeared after the rotation began) is revoked,
 * so nothing the crash created stays live, and the rotation is marked failed.
 */
export async function cleanUpInterrupted(deps: RotationDeps, attempt: AuditAttempt, rotation: Rotation): Promise<void> {
  const orphan = rotation.newSecret?.id ?? (await secretCreatedDuring(deps, rotation));
  if (orphan) await revokeStep(deps, attempt, rotation, orphan);
  await moveRotation(deps.db, rotation.id, ['creating', 'testing'], 'failed', {
    failure: 'interrupted; its new secret was revoked',
  });
}

async function secretCreatedDuring(deps: RotationDeps, rotation: Rotation): Promise<string | undefined> {
  const { value: secrets } = await deps.vonage.list(rotation.apiKey);
  const since = rotation.startedAt.getTime() - 1_000; // Vonage reports whole seconds
  return secrets.find((s) => s.id !== rotation.retireSecretId && Date.parse(s.created_at) >= since)?.id;
}
