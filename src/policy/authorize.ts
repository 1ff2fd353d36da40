import { AppError } from '../errors.ts';
import type { Identity } from '../identity/identity.ts';
import type { Action, Grant, Policy } from './policy.ts';

const grantMatches = (grant: Grant, identity: Identity, action: Action, apiKey: string | null) =>
  (grant.email !== undefined ? grant.email === identity.email : identity.groups.includes(grant.group ?? '')) &&
  grant.actions.has(action) &&
  (apiKey === null || grant.accounts === '*' || grant.accounts.has(apiKey));

export const isManagedAccount = (policy: Policy, apiKey: string) => policy.accounts.has(apiKey);

/** An api key the policy does not list is answered as if it did not exist, and never forwarded. */
export function assertManagedAccount(policy: Policy, apiKey: string): void {
  if (!isManagedAccount(policy, apiKey)) {
    throw new AppError('not-found', 404, `The account "${apiKey}" is not managed by this gateway.`);
  }
}

export function assertAllowed(policy: Policy, identity: Identity, action: Action, apiKey: string | null = null): void {
  if (!policy.grants.some((grant) => grantMatches(grant, identity, action, apiKey))) {
    const target = apiKey === null ? '' : ` on account "${apiKey}"`;
    throw new AppError('forbidden', 403, `You are not allowed to ${action}${target}.`);
  }
}

/** An unmanaged account is 404 before anything else; then the caller needs the action on it. */
export function authorize(policy: Policy, identity: Identity, action: Action, apiKey: string): void {
  assertManagedAccount(policy, apiKey);
  assertAllowed(policy, identity, action, apiKey);
}
