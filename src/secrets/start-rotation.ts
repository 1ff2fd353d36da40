import type { AuditAttempt } from '../audit/recorder.ts';
import { auditTrail } from '../audit/trail.ts';
import { AppError } from '../errors.ts';
import { claimOnce } from '../idempotency/once-per-key.ts';
import { assertNotSuspended } from '../policy/authorize.ts';
import { isInterrupted, transition } from '../rotation/machine.ts';
import { findInProgress, insertRotation, type Rotation } from '../rotation/store.ts';
import { generateSecret } from '../vonage/secret-rules.ts';
import { authorizeRotation, type RotationDeps, type RotationInput } from './rotation-deps.ts';
import { cleanUpInterrupted, createStep, revokeStep, testStep } from './rotation-steps.ts';

export interface StartRotationInput extends RotationInput {
  /** The secret consumers use today, revoked when the rotation completes. */
  retireSecretId: string;
  /** The account's other secret, revoked as the first step when the account already has 2. */
  discardSecretId?: string;
  /** The new secret's value; omitted, the gateway generates one (and shows it this once). */
  secret?: string;
  idempotencyKey?: string;
}

export interface StartRotationResult {
  rotation: Rotation;
  /** Only when the gateway generated it: shown once, never stored or logged. */
  secret?: string;
}

/**
 * Starting a rotation, the whole story: policy (secrets:create and secrets:revoke) → idempotency claim
 * → checks (one rotation at a time, the secret to retire exists, room for a new one) → the rotation's
 * row → [discard] → create → test as the account itself → awaiting cutover. A failed test revokes the
 * new secret; a crash leaves a row that the next call cleans up.
 */
export async function startRotation(deps: RotationDeps, input: StartRotationInput): Promise<StartRotationResult> {
  const { attempt } = input;
  const trail = auditTrail(deps.audit, attempt);
  const once = await trail.refusalsRecorded(async () => {
    authorizeRotation(deps, input);
    assertNotSuspended(deps.policy, attempt.apiKey);
    const request = [
      'rotation',
      attempt.apiKey,
      input.retireSecretId,
      input.discardSecretId ?? null,
      input.secret ?? null,
    ];
    const claim = await claimOnce(deps.idempotency, {
      caller: attempt.actor.email,
      key: input.idempotencyKey,
      request,
    });
    if (claim.kind === 'replay') throw replayRefused((claim.response.body as { id?: string }).id);
    return claim;
  });
  return once.settle(
    async () => run(deps, input, await trail.refusalsRecorded(() => plan(deps, input))),
    (result) => ({ status: 201, body: { id: result.rotation.id }, location: null }),
  );
}

const replayRefused = (id: string | undefined) =>
  new AppError(
    'rotation-conflict',
    409,
    `This Idempotency-Key already started rotation ${id}. Its new secret was shown once and is not shown again; GET the rotation to follow it.`,
  );

/** The checks before anything changes; each refusal is audited as the rotation.start attempt. */
async function plan(deps: RotationDeps, input: StartRotationInput): Promise<{ rotation: Rotation; discard?: string }> {
  const { apiKey } = input.attempt;
  const current = await findInProgress(deps.db, apiKey);
  if (current && isInterrupted(current, deps.rotationLeaseMs)) await cleanUpInterrupted(deps, input.attempt, current);
  else if (current)
    throw new AppError(
      'rotation-conflict',
      409,
      `Rotation ${current.id} is already in progress on ${apiKey} (${current.state}); complete or cancel it first.`,
    );
  const { value: secrets } = await deps.vonage.list(apiKey);
  if (!secrets.some((s) => s.id === input.retireSecretId)) {
    throw new AppError('not-found', 404, `${input.retireSecretId} is not a secret of ${apiKey}.`);
  }
  const other = secrets.find((s) => s.id !== input.retireSecretId)?.id;
  if (other !== undefined && input.discardSecretId !== other) {
    throw new AppError(
      'rotation-conflict',
      409,
      `${apiKey} already has 2 secrets (Vonage's limit): ${input.retireSecretId} and ${other}. Revoke ${other} first, or pass "discard_secret_id": "${other}" to have the rotation revoke it as its first step.`,
    );
  }
  const rotation = await insertRotation(deps.db, {
    id: input.rotationId,
    apiKey,
    retireSecretId: input.retireSecretId,
    startedBy: input.attempt.actor.email,
  });
  return { rotation, discard: other };
}

/**
 * The Vonage half of a rotation, on its row in `creating`: [discard] → create `value` → test it as the
 * account → awaiting cutover. A failed test revokes the new secret and fails the rotation.
 */
export async function runRotation(
  deps: RotationDeps,
  attempt: AuditAttempt,
  planned: { rotation: Rotation; discard?: string },
  value: string,
): Promise<Rotation> {
  let { rotation } = planned;
  try {
    if (planned.discard) await revokeStep(deps, attempt, rotation, planned.discard);
    const created = await createStep(deps, attempt, rotation, value);
    rotation = await transition(deps.db, rotation, 'testing', {
      newSecret: { id: created.id, createdAt: created.created_at },
    });
    try {
      await testStep(deps, attempt, rotation, created, value);
    } catch (error) {
      await revokeStep(deps, attempt, rotation, created.id);
      await transition(deps.db, rotation, 'failed', { failure: 'the new secret did not authenticate; it was revoked' });
      throw error;
    }
    return await transition(deps.db, rotation, 'awaiting_cutover');
  } catch (error) {
    // A create that failed or timed out may still have happened: find and revoke it now (or after the lease).
    if (rotation.state === 'creating') await cleanUpInterrupted(deps, attempt, rotation).catch(() => undefined);
    throw error;
  }
}

async function run(
  deps: RotationDeps,
  input: StartRotationInput,
  planned: { rotation: Rotation; discard?: string },
): Promise<StartRotationResult> {
  const value = input.secret ?? generateSecret();
  const rotation = await runRotation(deps, input.attempt, planned, value);
  return { rotation, secret: input.secret === undefined ? value : undefined };
}
