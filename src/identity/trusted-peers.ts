import proxyaddr from 'proxy-addr';

/**
 * Whether an address is one of the SSO proxy's (TRUSTED_PROXY_CIDRS). The peers are few (the proxy's
 * replicas), so each address's verdict is worked out once instead of parsed on every request. Both
 * Express's `trust proxy` (req.ip) and the proxy-header identity use this one check.
 */
export type TrustedPeers = (address: string, hop?: number) => boolean;

/** A bound on remembered verdicts: X-Forwarded-For hops are caller-written and may be many. */
const MAX_VERDICTS = 1_000;

export function trustedPeers(cidrs: string[]): TrustedPeers {
  const isTrusted = proxyaddr.compile(cidrs);
  const verdicts = new Map<string, boolean>();
  return (address) => {
    let verdict = verdicts.get(address);
    if (verdict === undefined) {
      verdict = isTrusted(address, 0);
      if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
      verdicts.set(address, verdict);
    }
    return verdict;
  };
}
