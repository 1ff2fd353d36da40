import type { Identity } from '../identity/identity.ts';
import { decide } from './authorize.ts';
import { ACTIONS, type Action, type Policy } from './policy.ts';

/**
 * What a caller may do, as a frontend needs it (cf. OIDC userinfo, Vault's capabilities-self): each
 * managed account with the caller's `secrets:*` actions on it, and the account-independent actions.
 * Computed by asking `decide` for every pair, so it is exactly what the service would allow.
 */
export interface Capabilities {
  accounts: Array<{ api_key: string; actions: Action[] }>;
  actions: Action[];
}

export const isAccountAction = (action: Action) => action.startsWith('secrets:');

export function capabilities(policy: Policy, identity: Identity): Capabilities {
  const allowed = (action: Action, apiKey: string | null) => decide(policy, identity, action, apiKey).allowed;
  const accounts = [...policy.accounts]
    .map((apiKey) => ({ api_key: apiKey, actions: ACTIONS.filter((a) => isAccountAction(a) && allowed(a, apiKey)) }))
    .filter((account) => account.actions.length > 0);
  return { accounts, actions: ACTIONS.filter((a) => !isAccountAction(a) && allowed(a, null)) };
}
