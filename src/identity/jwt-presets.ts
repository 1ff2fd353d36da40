import type { JwtEnv, KeySource, Preset } from './jwt-settings.ts';

/**
 * What each identity-aware proxy is known to send: its header, its algorithms, where its keys are
 * published and which claims name the user and the groups. Every AUTH_JWT_* variable overrides these.
 */
export interface PresetDefaults {
  header: string;
  algorithms: string[];
  keys?: (env: JwtEnv) => KeySource | undefined;
  issuer?: (env: JwtEnv) => string | undefined;
  groupsClaim?: string;
  userClaim?: string;
}

const withoutSlash = (url: string | undefined) => url?.replace(/\/+$/, '');

export const PRESET_DEFAULTS: Record<Preset, PresetDefaults> = {
  'google-iap': {
    header: 'x-goog-iap-jwt-assertion',
    algorithms: ['ES256'],
    keys: () => ({ kind: 'jwks', url: 'https://www.gstatic.com/iap/verify/public_key-jwk' }),
    issuer: (env) => env.AUTH_JWT_ISSUER ?? 'https://cloud.google.com/iap',
    userClaim: 'sub',
  },
  'cloudflare-access': {
    header: 'cf-access-jwt-assertion',
    algorithms: ['RS256'],
    // The team domain is the issuer; its certs live under it.
    keys: (env) =>
      env.AUTH_JWT_ISSUER
        ? { kind: 'jwks', url: `${withoutSlash(env.AUTH_JWT_ISSUER)}/cdn-cgi/access/certs` }
        : undefined,
    issuer: (env) => withoutSlash(env.AUTH_JWT_ISSUER),
    userClaim: 'sub',
  },
  'aws-alb': {
    header: 'x-amzn-oidc-data',
    algorithms: ['ES256'],
    keys: (env) =>
      env.AUTH_JWT_ALB_REGION
        ? {
            kind: 'pem-per-kid',
            urlTemplate: `https://public-keys.auth.elb.${env.AUTH_JWT_ALB_REGION}.amazonaws.com/{kid}`,
          }
        : undefined,
    userClaim: 'sub',
  },
  pomerium: {
    header: 'x-pomerium-jwt-assertion',
    algorithms: ['ES256'],
    keys: (env) =>
      env.AUTH_JWT_ISSUER
        ? { kind: 'jwks', url: `${withoutSlash(env.AUTH_JWT_ISSUER)}/.well-known/pomerium/jwks.json` }
        : undefined,
    issuer: (env) => env.AUTH_JWT_ISSUER,
    groupsClaim: 'groups',
    userClaim: 'sub',
  },
  'oidc-bearer': {
    header: 'authorization',
    algorithms: ['RS256', 'ES256'],
    keys: (env) => (env.AUTH_JWT_ISSUER ? { kind: 'oidc-discovery', issuer: env.AUTH_JWT_ISSUER } : undefined),
    issuer: (env) => env.AUTH_JWT_ISSUER,
    groupsClaim: 'groups',
    userClaim: 'preferred_username',
  },
};
