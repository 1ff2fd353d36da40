import type { Identity } from '../identity/identity.ts';
import { authorize } from '../policy/authorize.ts';
import type { UpstreamObserver } from '../vonage/client.ts';
import type { Secret } from '../vonage/schemas.ts';
import type { SecretsDeps } from './deps.ts';

/** Reads are not audited: policy, then Vonage. Secret values never exist on this path. */
export interface ReadInput {
  caller: Identity;
  apiKey: string;
  observe?: UpstreamObserver;
}

export async function listSecrets(deps: Pick<SecretsDeps, 'policy' | 'vonage'>, input: ReadInput): Promise<Secret[]> {
  authorize(deps.policy, input.caller, 'secrets:read', input.apiKey);
  return (await deps.vonage.list(input.apiKey, input.observe)).value;
}

export async function getSecret(
  deps: Pick<SecretsDeps, 'policy' | 'vonage'>,
  input: ReadInput & { secretId: string },
): Promise<Secret> {
  authorize(deps.policy, input.caller, 'secrets:read', input.apiKey);
  return (await deps.vonage.get(input.apiKey, input.secretId, input.observe)).value;
}
