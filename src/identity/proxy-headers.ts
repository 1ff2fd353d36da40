import type { Identity, IdentityProvider, IdentityRequest } from './identity.ts';
import { isUserName, normaliseEmail, unauthenticated, validGroups } from './identity-values.ts';
import { trustedPeers } from './trusted-peers.ts';

/**
 * oauth2-proxy's upstream identity headers, trusted only when the connection's peer is the proxy.
 * Anything ambiguous is refused: a duplicated header, an empty one, or a variant spelling
 * (X_Forwarded_Email) that a framework elsewhere might fold into the real name (CVE-2025-64484).
 */

const EMAIL = 'x-forwarded-email';
const USER = 'x-forwarded-user';
const GROUPS = 'x-forwarded-groups';
const IDENTITY_HEADERS = [EMAIL, USER, GROUPS];

/** Header names as sent, lower-cased, so duplicates in any casing are counted together. */
function countHeaderNames(rawHeaders: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

function assertNoAmbiguousHeaders(counts: Map<string, number>): void {
  for (const [name, count] of counts) {
    const normalised = name.replaceAll('_', '-');
    if (IDENTITY_HEADERS.includes(normalised) && name !== normalised) {
      throw unauthenticated('header_variant', `The header "${name}" imitates an identity header and is not accepted.`);
    }
    if (IDENTITY_HEADERS.includes(name) && count > 1) {
      throw unauthenticated('duplicate_header', `The identity header "${name}" was sent more than once.`);
    }
  }
}

function optionalHeader(request: IdentityRequest, name: string): string | null {
  const value = request.headers[name];
  if (value === undefined) return null;
  if (typeof value !== 'string' || value.trim() === '')
    throw unauthenticated('empty_header', `The identity header "${name}" is empty.`);
  return value;
}

function parseIdentity(request: IdentityRequest): Identity {
  const email = optionalHeader(request, EMAIL);
  if (email === null) throw unauthenticated('missing_header', `The identity header "${EMAIL}" is required.`);
  const user = optionalHeader(request, USER);
  if (user !== null && !isUserName(user))
    throw unauthenticated('malformed_header', `"${USER}" has characters that are not allowed.`);
  const groups = optionalHeader(request, GROUPS);
  return {
    email: normaliseEmail(email, 'malformed_header', `"${EMAIL}"`),
    user,
    groups: groups === null ? [] : validGroups(groups.split(','), 'malformed_header', `"${GROUPS}"`),
  };
}

export function proxyHeaderIdentity(trustedProxyCidrs: string[]): IdentityProvider {
  const isTrustedPeer = trustedPeers(trustedProxyCidrs);
  return async (request) => {
    if (!request.peerAddress || !isTrustedPeer(request.peerAddress)) {
      throw unauthenticated('untrusted_peer', 'Identity headers are accepted only from the SSO proxy.');
    }
    assertNoAmbiguousHeaders(countHeaderNames(request.rawHeaders));
    return parseIdentity(request);
  };
}
