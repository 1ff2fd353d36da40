import type { JWTPayload } from 'jose';
import type { Identity } from './identity.ts';
import { unauthenticated } from './jwt-keys.ts';
import type { JwtSettings } from './jwt-settings.ts';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,253}\.[^\s@]{1,63}$/;
const GROUP = /^[\x21-\x2b\x2d-\x7e]{1,256}$/;
const MAX_GROUPS = 256;

/** Groups may be a JSON array or a comma-separated string, depending on the IdP. */
function groupsFrom(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const groups = list.filter((g): g is string => typeof g === 'string' && GROUP.test(g));
  return [...new Set(groups)].slice(0, MAX_GROUPS);
}

export function identityFromClaims(payload: JWTPayload, settings: JwtSettings): Identity {
  const email = payload[settings.emailClaim];
  if (typeof email !== 'string' || !EMAIL.test(email)) {
    throw unauthenticated('missing_email', `The identity assertion has no usable "${settings.emailClaim}" claim.`);
  }
  const user = settings.userClaim ? payload[settings.userClaim] : undefined;
  return {
    email: email.toLowerCase(),
    user: typeof user === 'string' && user.length <= 256 ? user : null,
    groups: settings.groupsClaim ? groupsFrom(payload[settings.groupsClaim]) : [],
  };
}
