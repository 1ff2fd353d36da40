import type { AuditAttempt } from '../audit/recorder.ts';
import { auditTrail } from '../audit/trail.ts';
import { type Consumer, recordDelivery, recordHeld } from '../delivery/store.ts';
import { AppError } from '../errors.ts';
import { assertManagedAccount, assertNotSuspended } from '../policy/authorize.ts';
import { isInterrupted } from '../rotation/machine.ts';
import { findInProgress, insertRotation, type Rotation } from '../rotation/store.ts';
import type { Secret } from '../vonage/schemas.ts';
import { generateSecret } from '../vonage/secret-rules.ts';
import type { AuditedInput } from './deps.ts';
import { CANCEL, COMPLETE, claimFinish, finishClaimed } from './finish-rotation.ts';
import type { RotationDeps } from './rotation-deps.ts';
import { cleanUpInterrupted } from './rotation-steps.ts';
import { runRotation } from './start-rotation.ts';

/**
 * One delivery (External Secrets Operator's Webhook generator calling): a rotation whose cutover the
 * consumer does itself. The rule that never breaks: the secret the consumer says it holds is never revoked.
 * The consumer's last delivery rotation is finished first, by what the consumer holds now: the new secret
 * (it switched: complete, retiring the old one) or the old one (the answer was lost: cancel, revoking the
 * orphan). Then a new secret is created, tested as the account, and answered. No secret is stored.
 */
export interface DeliveryDeps extends RotationDeps {
  /** DELIVERY_MIN_INTERVAL_SECONDS: at most one delivery per consumer in this time (a loop, a stolen token). */
  minIntervalSeconds: number;
}

export interface DeliveryInput extends AuditedInput {
  consumer: Consumer;
  /** The secret id the request says the consumer holds; null: none yet (first delivery). */
  heldSecretId: string | null;
  rotationId: string;
}

export interface Delivery {
  apiKey: string;
  /** The new secret's value: in this answer only, never stored or logged. */
  secret: string;
  secretId: string;
  createdAt: string;
}

export async function deliver(deps: DeliveryDeps, input: DeliveryInput): Promise<Delivery> {
  const { attempt, consumer } = input;
  const planned = await auditTrail(deps.audit, attempt).refusalsRecorded(() => plan(deps, input));
  const value = generateSecret();
  const rotation = await runRotation(deps, attempt, planned, value);
  const created = rotation.newSecret as NonNullable<Rotation['newSecret']>;
  await recordDelivery(deps.db, consumer, created.id);
  return { apiKey: consumer.apiKey, secret: value, secretId: created.id, createdAt: created.createdAt };
}

/** The checks, the last delivery finished, and the new rotation's row; each refusal audited as the delivery. */
async function plan(deps: DeliveryDeps, input: DeliveryInput): Promise<{ rotation: Rotation; discard?: string }> {
  const { attempt, consumer, heldSecretId } = input;
  assertManagedAccount(deps.policy, consumer.apiKey);
  assertNotSuspended(deps.policy, consumer.apiKey);
  await recordHeld(deps.db, consumer, heldSecretId);
  assertNotTooSoon(deps, consumer);
  await finishLastDelivery(deps, attempt, consumer, heldSecretId);
  const { value: secrets } = await deps.vonage.list(consumer.apiKey);
  const { retire, discard } = retirement(consumer, secrets, heldSecretId);
  const rotation = await insertRotation(deps.db, {
    id: input.rotationId,
    apiKey: consumer.apiKey,
    retireSecretId: retire,
    startedBy: attempt.actor.email,
    consumerId: consumer.id,
  });
  return { rotation, discard };
}

function assertNotTooSoon(deps: DeliveryDeps, consumer: Consumer): void {
  const last = consumer.lastDelivery?.at.getTime();
  const wait = last === undefined ? 0 : Math.ceil((last + deps.minIntervalSeconds * 1000 - Date.now()) / 1000);
  if (wait > 0) {
    throw new AppError(
      'delivery-too-soon',
      429,
      `${consumer.name} was delivered a secret less than ${deps.minIntervalSeconds} s ago ` +
        '(DELIVERY_MIN_INTERVAL_SECONDS); it keeps the one it has.',
      { retryAfterSeconds: wait },
    );
  }
}

/** The consumer's last delivery (awaiting its cutover) finished by what the consumer holds now. */
async function finishLastDelivery(
  deps: DeliveryDeps,
  attempt: AuditAttempt,
  consumer: Consumer,
  held: string | null,
): Promise<void> {
  const current = await findInProgress(deps.db, consumer.apiKey);
  if (!current) return;
  const crashed = isInterrupted(current, deps.rotationLeaseMs);
  if (crashed && (current.state === 'creating' || current.state === 'testing'))
    return cleanUpInterrupted(deps, attempt, current);
  if (current.consumerId !== consumer.id) throw notOurs(current);
  if (current.state === 'completing' || current.state === 'cancelling') {
    if (!crashed) throw busy(current);
    await finishClaimed(deps, attempt, current, current.state === 'completing' ? COMPLETE : CANCEL);
    return;
  }
  if (current.state !== 'awaiting_cutover') throw busy(current);
  const finish = held === current.newSecret?.id ? COMPLETE : held === current.retireSecretId ? CANCEL : undefined;
  if (!finish) throw heldUnknown(consumer, [current.retireSecretId, current.newSecret?.id ?? '(none)'], held);
  await finishClaimed(deps, attempt, await claimFinish(deps, current, finish), finish);
}

/** What to retire: with one secret, that one later (nothing now); with two, the one not held, now. */
function retirement(consumer: Consumer, secrets: Secret[], held: string | null): { retire: string; discard?: string } {
  const [only, other] = secrets;
  if (only && !other) return { retire: only.id };
  if (only && other && held === only.id) return { retire: only.id, discard: other.id };
  if (only && other && held === other.id) return { retire: other.id, discard: only.id };
  throw heldUnknown(
    consumer,
    secrets.map((s) => s.id),
    held,
  );
}

const heldUnknown = (consumer: Consumer, ids: string[], held: string | null) =>
  new AppError(
    'delivery-conflict',
    409,
    `${consumer.apiKey} has two secrets (${ids.join(' and ')}) and ${consumer.name} ` +
      `${held === null ? 'said it holds none' : `said it holds ${held}, which is neither`}, so neither may be ` +
      "revoked safely. Put the id of the secret it uses in its Secret's secret_id key, or revoke the one nobody " +
      'uses through the gateway, then let it refresh again.',
  );

const busy = (rotation: Rotation) =>
  new AppError('rotation-conflict', 409, `A delivery (rotation ${rotation.id}) is ${rotation.state}; try again later.`);

const notOurs = (rotation: Rotation) =>
  new AppError(
    'rotation-conflict',
    409,
    `Rotation ${rotation.id}, started by ${rotation.startedBy}, is in progress on ${rotation.apiKey} ` +
      `(${rotation.state}); it must be completed or cancelled before a delivery.`,
  );
