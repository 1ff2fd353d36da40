import { AppError } from '../errors.ts';
import type { Identity } from '../identity/identity.ts';
import { type Action, type Grant, type ManagedAccount, matchesAccount, type Policy } from './policy.ts';

/**
 * The one decision: does a grant allow this identity this action (on this account)? The service's
 * checks, GET /v1/me and `npm run policy -- can-i` all ask it here, so they can never disagree.
 */

const grantMatches = (grant: Grant, identity: Identity, action: Action, account: ManagedAccount | null) =>
  (grant.email !== undefined ? grant.email === identity.email : identity.groups.includes(grant.group ?? '')) &&
  grant.actions.has(action) &&
  (account === null || grant.accounts === '*' || matchesAccount(grant.accounts, account));

export interface Decision {
  allowed: boolean;
  /** The first grant that allows it, with its position in the policy file. */
  grant?: { index: number; grant: Grant };
  /** Why not, when not allowed. */
  reason?: 'unmanaged_account' | 'no_grant';
}

export const isManagedAccount = (policy: Policy, apiKey: string) => policy.accounts.get(apiKey) !== undefined;

/** `apiKey` is null for account-independent actions (audit:read). */
export function decide(policy: Policy, identity: Identity, action: Action, apiKey: string | null): Decision {
  const account = apiKey === null ? null : policy.accounts.get(apiKey);
  if (account === undefined) return { allowed: false, reason: 'unmanaged_account' };
  const index = policy.grants.findIndex((grant) => grantMatches(grant, identity, action, account));
  const grant = policy.grants[index];
  return grant ? { allowed: true, grant: { index, grant } } : { allowed: false, reason: 'no_grant' };
}

/** An api key the policy does not list is answered as if it did not exist, and never forwarded. */
export function assertManagedAccount(policy: Policy, apiKey: string): void {
  if (!isManagedAccount(policy, apiKey)) {
    throw new AppError('not-found', 404, `The account "${apiKey}" is not managed by this gateway.`);
  }
}

/** A 403 names the action (and account) to ask for, so a person knows what access request to file. */
export function assertAllowed(policy: Policy, identity: Identity, action: Action, apiKey: string | null = null): void {
  if (!decide(policy, identity, action, apiKey).allowed) {
    const target = apiKey === null ? '' : ` on account "${apiKey}"`;
    const ask = apiKey === null ? action : `${action} on ${apiKey}`;
    throw new AppError('forbidden', 403, `You are not allowed to ${action}${target}. Ask for ${ask}.`, {
      action,
      apiKey: apiKey ?? undefined,
    });
  }
}

/** An unmanaged account is 404 before anything else; then the caller needs the action on it. */
export function authorize(policy: Policy, identity: Identity, action: Action, apiKey: string): void {
  assertManagedAccount(policy, apiKey);
  assertAllowed(policy, identity, action, apiKey);
}

/** Vonage suspended the account: nothing new is put on it (a create, a rotation); revoking stays possible. */
export function assertNotSuspended(policy: Policy, apiKey: string): void {
  if (policy.accounts.get(apiKey)?.suspended) {
    throw new AppError(
      'account-suspended',
      409,
      `The account "${apiKey}" is suspended at Vonage, so no new secret is created on it. Ask the owner of the ` +
        'primary Vonage account to reactivate it first.',
    );
  }
}
