import type { JWTPayload } from 'jose';
import type { Identity } from './identity.ts';
import { isUserName, normaliseEmail, unauthenticated, validGroups } from './identity-values.ts';
import type { JwtSettings } from './jwt-settings.ts';

/** A groups claim is a JSON array of names; any other shape is refused rather than guessed at. */
function groupsFrom(value: unknown, claim: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((g): g is string => typeof g === 'string')) {
    throw unauthenticated('invalid_claims', `The "${claim}" claim must be an array of group names.`);
  }
  return validGroups(value, 'invalid_claims', `The "${claim}" claim`);
}

/**
 * `required`: only `email_verified: true` passes (an OIDC IdP's own word). `refuse-false`: the proxy
 * vouches for the address, but a token that says the address is unverified is still refused.
 */
function assertEmailVerified(payload: JWTPayload, settings: JwtSettings): void {
  const verified = payload.email_verified;
  const acceptable = settings.emailVerified === 'required' ? verified === true : verified !== false;
  if (!acceptable)
    throw unauthenticated('email_not_verified', 'The identity provider has not verified this email address.');
}

export function identityFromClaims(payload: JWTPayload, settings: JwtSettings): Identity {
  const email = payload[settings.emailClaim];
  if (typeof email !== 'string' || email === '') {
    throw unauthenticated('missing_email', `The identity assertion has no usable "${settings.emailClaim}" claim.`);
  }
  const normalised = normaliseEmail(email, 'invalid_claims', `The "${settings.emailClaim}" claim`);
  assertEmailVerified(payload, settings);
  const user = settings.userClaim ? payload[settings.userClaim] : undefined;
  return {
    email: normalised,
    user: typeof user === 'string' && isUserName(user) ? user : null,
    groups: settings.groupsClaim ? groupsFrom(payload[settings.groupsClaim], settings.groupsClaim) : [],
  };
}
