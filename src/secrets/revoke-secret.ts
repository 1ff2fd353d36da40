import { auditTrail } from '../audit/trail.ts';
import { authorize } from '../policy/authorize.ts';
import type { AuditedInput, SecretsDeps } from './deps.ts';

export interface RevokeSecretInput extends AuditedInput {
  secretId: string;
}

/**
 * Revoking a secret, the whole story: the caller's identity was verified and the attempt declared by
 * the route; then policy → audit intent → Vonage → audit outcome. A refusal before the intent (404,
 * 403) is audited as that refusal. Vonage's own rule (never the last secret) comes back as a 409.
 */
export async function revokeSecret(deps: SecretsDeps, input: RevokeSecretInput): Promise<void> {
  const { attempt, secretId } = input;
  const trail = auditTrail(deps.audit, attempt);
  await trail.refusalsRecorded(async () => {
    authorize(deps.policy, attempt.actor, 'secrets:revoke', attempt.apiKey);
    await trail.call({ status: 204 }, () => deps.vonage.revoke(attempt.apiKey, secretId, input.observe));
  });
}
