import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../errors.ts';
import type { KeySource } from './jwt-settings.ts';

/**
 * Where verification keys come from. JWKS sets are cached by jose, which looks keys up by kid and
 * refetches on an unknown kid at most once per cooldown. ALB publishes one PEM per kid instead.
 */

const FETCH_TIMEOUT_MS = 5_000;
const MAX_CACHED_PEMS = 64;

export const unauthenticated = (reason: string, detail: string, cause?: unknown) => new AppError('unauthenticated', 401, detail, { reason, cause });
const keysUnavailable = (cause: unknown) => unauthenticated('keys_unavailable', 'The identity provider\'s signing keys cannot be fetched.', cause);

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
  return response.text();
}

/** OIDC discovery: the issuer's configuration names its jwks_uri, fetched once and then cached by jose. */
function discoveredJwks(issuer: string, cooldownDuration: number): JWTVerifyGetKey {
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  const discover = async () => {
    const config = JSON.parse(await fetchText(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)) as { jwks_uri?: unknown };
    if (typeof config.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
    return createRemoteJWKSet(new URL(config.jwks_uri), { cooldownDuration, timeoutDuration: FETCH_TIMEOUT_MS });
  };
  return async (header, token) => {
    keySet ??= discover().catch((error: unknown) => {
      keySet = undefined; // try discovery again on the next request
      throw error;
    });
    return (await keySet)(header, token);
  };
}

/** A key lookup fails in two ways: the set has no such key (the token's fault), or the set can't be had (ours). */
const KEY_NOT_IN_SET = [errors.JWKSNoMatchingKey, errors.JWKSMultipleMatchingKeys, errors.JOSEAlgNotAllowed, errors.JOSENotSupported];

export function jwksKeys(source: Exclude<KeySource, { kind: 'pem-per-kid' }>, cooldownDuration: number): JWTVerifyGetKey {
  const keySet =
    source.kind === 'oidc-discovery'
      ? discoveredJwks(source.issuer, cooldownDuration)
      : createRemoteJWKSet(new URL(source.url), { cooldownDuration, timeoutDuration: FETCH_TIMEOUT_MS });
  return async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (error) {
      if (KEY_NOT_IN_SET.some((type) => error instanceof type)) throw error;
      throw keysUnavailable(error);
    }
  };
}

/** ALB: `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>` serves one PEM; kids are cached. */
export function pemPerKid(urlTemplate: string): (kid: string) => Promise<KeyObject> {
  const cache = new Map<string, Promise<KeyObject>>();
  return (kid) => {
    if (!/^[A-Za-z0-9-]{1,128}$/.test(kid)) return Promise.reject(unauthenticated('unknown_key', 'The token names a key id that is not valid.'));
    let key = cache.get(kid);
    if (!key) {
      if (cache.size >= MAX_CACHED_PEMS) cache.delete(cache.keys().next().value as string);
      key = fetchText(urlTemplate.replace('{kid}', encodeURIComponent(kid))).then((pem) => createPublicKey(pem));
      key.catch(() => cache.delete(kid));
      cache.set(kid, key);
    }
    return key.catch((error: unknown) => {
      throw keysUnavailable(error);
    });
  };
}

export { keysUnavailable };
