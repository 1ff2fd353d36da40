import { auditTrail } from '../audit/trail.ts';
import { claimOnce } from '../idempotency/once-per-key.ts';
import { assertNotSuspended, authorize } from '../policy/authorize.ts';
import type { Secret } from '../vonage/schemas.ts';
import type { AuditedInput, SecretsDeps } from './deps.ts';

export interface CreateSecretInput extends AuditedInput {
  /** The new secret's value: sent to Vonage, never stored, logged or audited. */
  secret: string;
  idempotencyKey?: string;
}

export interface CreateSecretResult {
  secret: Secret;
  /** True when this is the stored answer to an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

/**
 * Creating a secret, the whole story: the caller's identity was verified and the attempt declared by
 * the route; then policy → idempotency claim → audit intent → Vonage → audit outcome. A refusal at
 * any step before the intent (404, 403, 409, 422) is audited as that refusal.
 */
export async function createSecret(deps: SecretsDeps, input: CreateSecretInput): Promise<CreateSecretResult> {
  const { attempt, secret } = input;
  const trail = auditTrail(deps.audit, attempt);
  return trail.refusalsRecorded(async () => {
    authorize(deps.policy, attempt.actor, 'secrets:create', attempt.apiKey);
    assertNotSuspended(deps.policy, attempt.apiKey);
    const keyed = {
      caller: attempt.actor.email,
      key: input.idempotencyKey,
      request: ['create', attempt.apiKey, secret],
    };
    const once = await claimOnce(deps.idempotency, keyed);
    if (once.kind === 'replay') {
      const stored = once.response.body as Secret;
      await trail.replayed(once.response.status, stored.id);
      return { secret: stored, replayed: true };
    }
    const created = await once.settle(
      () =>
        trail.call({ status: 201, createdSecretId: (s) => s.id }, () =>
          deps.vonage.create(attempt.apiKey, secret, input.observe),
        ),
      (value) => ({ status: 201, body: value, location: null }),
    );
    return { secret: created, replayed: false };
  });
}
