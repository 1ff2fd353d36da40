import type { Identity } from '../identity/identity.ts';
import { decide } from './authorize.ts';
import { ACTIONS, type Action, isAccountAction, type Policy } from './policy.ts';

/**
 * What a caller may do, as a frontend needs it (cf. OIDC userinfo, Vault's capabilities-self): each
 * managed account with the caller's account actions on it (secrets:*, consumers:manage), and the
 * account-independent actions.
 * Computed by asking `decide` for every pair, so it is exactly what the service would allow.
 */
export interface AccountCapability {
  api_key: string;
  actions: Action[];
}

export interface Capabilities {
  accounts: AccountCapability[];
  actions: Action[];
}

/** The managed accounts on which the caller has at least one action: those they may see. */
export function accountCapabilities(policy: Policy, identity: Identity): AccountCapability[] {
  const allowed = (action: Action, apiKey: string) => decide(policy, identity, action, apiKey).allowed;
  return policy.accounts
    .list()
    .map(({ apiKey }) => ({
      api_key: apiKey,
      actions: ACTIONS.filter((a) => isAccountAction(a) && allowed(a, apiKey)),
    }))
    .filter((account) => account.actions.length > 0);
}

export function capabilities(policy: Policy, identity: Identity): Capabilities {
  const actions = ACTIONS.filter((a) => !isAccountAction(a) && decide(policy, identity, a, null).allowed);
  return { accounts: accountCapabilities(policy, identity), actions };
}
