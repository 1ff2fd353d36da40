import { z } from 'zod';
import { PRESET_DEFAULTS, type PresetDefaults } from './jwt-presets.ts';

/**
 * Settings for AUTH_MODE=jwt. A preset fills in what each identity-aware proxy is known to send;
 * every generic AUTH_JWT_* variable overrides the preset. Only asymmetric algorithms are allowed:
 * never `none`, never HS* (which would let a public key act as an HMAC secret).
 */

export const PRESETS = ['google-iap', 'cloudflare-access', 'aws-alb', 'pomerium', 'oidc-bearer'] as const;
export type Preset = (typeof PRESETS)[number];

const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export type KeySource =
  | { kind: 'jwks'; url: string }
  | { kind: 'oidc-discovery'; issuer: string }
  | { kind: 'pem-per-kid'; urlTemplate: string };

export interface JwtSettings {
  preset: Preset | 'custom';
  /** Lower-case header name; `authorization` means `Authorization: Bearer <token>`. */
  header: string;
  keys: KeySource;
  issuer?: string;
  audience: string;
  algorithms: string[];
  emailClaim: string;
  groupsClaim?: string;
  userClaim?: string;
  clockToleranceSeconds: number;
  jwksCooldownMs: number;
  /** aws-alb only: the load balancer ARN that must appear as `signer` in the token header. */
  albSigner?: string;
  /** `required` for an IdP's own token (oidc-bearer); proxies vouch for the address, so `refuse-false`. */
  emailVerified: 'required' | 'refuse-false';
}

const url = z.url({ protocol: /^https?$/ });
const claim = z.string().regex(/^[A-Za-z0-9_:./-]{1,100}$/, 'must be a claim name');

export const jwtEnvSchema = z.object({
  AUTH_JWT_PRESET: z.enum(PRESETS).optional(),
  AUTH_JWT_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/, 'must be a header name')
    .transform((h) => h.toLowerCase())
    .optional(),
  AUTH_JWT_JWKS_URL: url.optional(),
  AUTH_JWT_PEM_URL_TEMPLATE: url
    .refine((u) => u.includes('%7Bkid%7D') || u.includes('{kid}'), 'must contain {kid}')
    .optional(),
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTH_JWT_ALGORITHMS: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(z.enum(ASYMMETRIC, { error: 'only asymmetric algorithms (RS*, PS*, ES*, EdDSA) are allowed' })).min(1),
    )
    .optional(),
  AUTH_JWT_EMAIL_CLAIM: claim.optional(),
  AUTH_JWT_GROUPS_CLAIM: claim.optional(),
  AUTH_JWT_USER_CLAIM: claim.optional(),
  AUTH_JWT_CLOCK_TOLERANCE_S: z.string().regex(/^\d+$/).transform(Number).pipe(z.number().max(300)).optional(),
  AUTH_JWT_JWKS_COOLDOWN_MS: z.string().regex(/^\d+$/).transform(Number).optional(),
  AUTH_JWT_ALB_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region like eu-west-1')
    .optional(),
  AUTH_JWT_ALB_ARN: z.string().startsWith('arn:aws:elasticloadbalancing:', 'must be a load balancer ARN').optional(),
  AUTH_JWT_REQUIRE_EMAIL_VERIFIED: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((value) => value === 'true')
    .optional(),
});
export type JwtEnv = z.infer<typeof jwtEnvSchema>;

function keySource(env: JwtEnv, defaults: PresetDefaults | undefined): KeySource | undefined {
  if (env.AUTH_JWT_JWKS_URL) return { kind: 'jwks', url: env.AUTH_JWT_JWKS_URL };
  if (env.AUTH_JWT_PEM_URL_TEMPLATE)
    return { kind: 'pem-per-kid', urlTemplate: env.AUTH_JWT_PEM_URL_TEMPLATE.replace('%7Bkid%7D', '{kid}') };
  return defaults?.keys?.(env);
}

/** Builds the settings, or returns every problem (each naming the variable) for the config report. */
export function resolveJwtSettings(env: JwtEnv): { settings?: JwtSettings; problems: string[] } {
  const preset = env.AUTH_JWT_PRESET;
  const defaults = preset ? PRESET_DEFAULTS[preset] : undefined;
  const problems: string[] = [];
  const header = env.AUTH_JWT_HEADER ?? defaults?.header;
  const keys = keySource(env, defaults);
  const algorithms = env.AUTH_JWT_ALGORITHMS ?? defaults?.algorithms;
  if (!header) problems.push('AUTH_JWT_HEADER is required when AUTH_JWT_PRESET is not set');
  if (!keys)
    problems.push(
      "AUTH_JWT_JWKS_URL (or the preset's AUTH_JWT_ISSUER / AUTH_JWT_ALB_REGION) is required to find the signing keys",
    );
  if (!algorithms) problems.push('AUTH_JWT_ALGORITHMS is required when AUTH_JWT_PRESET is not set');
  // Without an audience, a token minted for any other application behind the same proxy would be accepted.
  if (!env.AUTH_JWT_AUDIENCE) problems.push('AUTH_JWT_AUDIENCE is required in jwt mode');
  if (preset === 'aws-alb' && !env.AUTH_JWT_ALB_ARN)
    problems.push("AUTH_JWT_ALB_ARN is required for the aws-alb preset (checked against the token's signer)");
  if ((preset === 'pomerium' || preset === 'oidc-bearer' || preset === 'cloudflare-access') && !env.AUTH_JWT_ISSUER) {
    problems.push(`AUTH_JWT_ISSUER is required for the ${preset} preset`);
  }
  if (problems.length > 0 || !header || !keys || !algorithms || !env.AUTH_JWT_AUDIENCE) return { problems };
  return {
    problems,
    settings: {
      preset: preset ?? 'custom',
      header,
      keys,
      issuer: defaults?.issuer?.(env) ?? env.AUTH_JWT_ISSUER,
      audience: env.AUTH_JWT_AUDIENCE,
      algorithms,
      emailClaim: env.AUTH_JWT_EMAIL_CLAIM ?? 'email',
      groupsClaim: env.AUTH_JWT_GROUPS_CLAIM ?? defaults?.groupsClaim,
      userClaim: env.AUTH_JWT_USER_CLAIM ?? defaults?.userClaim,
      clockToleranceSeconds: env.AUTH_JWT_CLOCK_TOLERANCE_S ?? 30,
      jwksCooldownMs: env.AUTH_JWT_JWKS_COOLDOWN_MS ?? 30_000,
      albSigner: env.AUTH_JWT_ALB_ARN,
      emailVerified: (env.AUTH_JWT_REQUIRE_EMAIL_VERIFIED ?? preset === 'oidc-bearer') ? 'required' : 'refuse-false',
    },
  };
}
