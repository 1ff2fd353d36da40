import { createdOutside } from '../audit/attribution.ts';
import type { AuditAttempt } from '../audit/recorder.ts';
import { auditTrail } from '../audit/trail.ts';
import { AppError } from '../errors.ts';
import { transition } from '../rotation/machine.ts';
import type { Rotation } from '../rotation/store.ts';
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
 * A rotation left in `creating` or `testing` belongs to a process that died (or to a create that failed
 * midway). The request takes the row over first, so only one clean-up runs. Its new secret (known, or an
 * orphan: a secret that appeared after the rotation began and that no other recorded create produced) is
 * revoked, so nothing the crash created stays live, and the rotation is marked failed.
 */
export async function cleanUpInterrupted(deps: RotationDeps, attempt: AuditAttempt, rotation: Rotation): Promise<void> {
  const held = await transition(deps.db, rotation, rotation.state);
  const orphan = held.newSecret?.id ?? (await orphanOf(deps, held));
  if (orphan) await revokeStep(deps, attempt, held, orphan);
  await transition(deps.db, held, 'failed', {
    failure: orphan ? 'interrupted; its new secret was revoked' : 'interrupted before Vonage created its secret',
  });
}

async function orphanOf(deps: RotationDeps, rotation: Rotation): Promise<string | undefined> {
  const { value: secrets } = await deps.vonage.list(rotation.apiKey);
  const since = rotation.startedAt.getTime() - 1_000; // Vonage reports whole seconds
  const candidates = secrets.filter((s) => s.id !== rotation.retireSecretId && Date.parse(s.created_at) >= since);
  const owned = await createdOutside(
    deps.audit.db,
    rotation.apiKey,
    candidates.map((s) => s.id),
    rotation.id,
  );
  return candidates.find((s) => !owned.has(s.id))?.id;
}
