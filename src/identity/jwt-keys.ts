import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { unauthenticated } from './identity-values.ts';
import type { KeySource } from './jwt-settings.ts';

/**
 * Where verification keys come from. JWKS sets are cached by jose, which looks keys up by kid and
 * refetches on an unknown kid at most once per cooldown. ALB publishes one PEM per kid instead.
 */

const FETCH_TIMEOUT_MS = 5_000;
const MAX_CACHED_PEMS = 64;

const keysUnavailable = (cause: unknown) =>
  unauthenticated('keys_unavailable', "The identity provider's signing keys cannot be fetched.", cause);

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'error' });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
  return response.text();
}

/** OIDC discovery: the issuer's configuration names its jwks_uri, fetched once and then cached by jose. */
function discoveredJwks(issuer: string, cooldownDuration: number): JWTVerifyGetKey {
  let keySet: Promise<JWTVerifyGetKey> | undefined;
  const discover = async () => {
    const config = JSON.parse(await fetchText(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`)) as {
      jwks_uri?: unknown;
    };
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
const KEY_NOT_IN_SET = [
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

export function jwksKeys(
  source: Exclude<KeySource, { kind: 'pem-per-kid' }>,
  cooldownDuration: number,
): JWTVerifyGetKey {
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

/**
 * ALB: `https://public-keys.auth.elb.<region>.amazonaws.com/<kid>` serves one PEM per kid. Built once
 * per process. Unknown kids are fetched from a small budget (FETCHES_PER_COOLDOWN, refilled over the
 * cooldown), and a kid that failed is remembered as unknown for the cooldown. A kid seen once gets a fetch
 * only if none happened in the last cooldown, so a flood of random kids costs one fetch per cooldown; a kid
 * seen again (real traffic repeats its kid) may spend the rest of the budget, the most-seen first, so a
 * newly published key is not locked out by the flood.
 */
const FETCHES_PER_COOLDOWN = 4;
const MAX_SIGHTINGS = 1_024;

export function pemPerKid(
  urlTemplate: string,
  cooldownMs: number,
  now = Date.now,
): (kid: string) => Promise<KeyObject> {
  const known = new Map<string, Promise<KeyObject>>();
  const unknownUntil = new Map<string, number>();
  const sightings = new Map<string, number>();
  const budget = fetchBudget(cooldownMs, now);
  const unknownKey = () =>
    unauthenticated('unknown_key', 'The identity assertion is signed with a key the provider does not publish.');
  const fetchKey = (kid: string) => {
    budget.spend();
    sightings.delete(kid);
    const key = fetchText(urlTemplate.replace('{kid}', encodeURIComponent(kid))).then((pem) => createPublicKey(pem));
    key.catch(() => {
      known.delete(kid);
      if (unknownUntil.size >= MAX_CACHED_PEMS) unknownUntil.clear();
      unknownUntil.set(kid, now() + cooldownMs);
    });
    if (known.size >= MAX_CACHED_PEMS) known.delete(known.keys().next().value as string);
    known.set(kid, key);
    return key;
  };
  /** Whether this request may fetch its kid now; if another kid has been seen more, that one goes first. */
  const mayFetch = (kid: string) => {
    if ((unknownUntil.get(kid) ?? 0) > now()) return false;
    if (sightings.size >= MAX_SIGHTINGS) sightings.clear();
    const seen = (sightings.get(kid) ?? 0) + 1;
    sightings.set(kid, seen);
    if (!budget.available(seen > 1)) return false;
    const busiest = mostSeen(sightings);
    if (busiest !== kid && (sightings.get(busiest) ?? 0) > seen) {
      void fetchKey(busiest).catch(() => undefined);
      return false;
    }
    return true;
  };
  return async (kid) => {
    if (!/^[A-Za-z0-9-]{1,128}$/.test(kid))
      throw unauthenticated('unknown_key', 'The token names a key id that is not valid.');
    const cached = known.get(kid);
    if (!cached && !mayFetch(kid)) throw unknownKey();
    try {
      return await (cached ?? fetchKey(kid));
    } catch (error) {
      throw keysUnavailable(error);
    }
  };
}

function mostSeen(sightings: Map<string, number>): string {
  let best = '';
  let most = 0;
  for (const [kid, seen] of sightings) if (seen > most) [best, most] = [kid, seen];
  return best;
}

/** Fetches in the last cooldown: the first is anyone's; the rest only for kids seen more than once. */
function fetchBudget(cooldownMs: number, now: () => number) {
  let spent: number[] = [];
  const recent = () => {
    spent = spent.filter((at) => now() - at < cooldownMs);
    return spent.length;
  };
  return {
    available: (seenBefore: boolean) => {
      const used = recent();
      return used === 0 || (seenBefore && used < FETCHES_PER_COOLDOWN);
    },
    spend: () => void spent.push(now()),
  };
}

export { keysUnavailable };
