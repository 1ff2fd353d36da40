import { z } from 'zod';
import type { AuditStreamSettings } from './audit/stream/settings.ts';
import { type JwtEnv, jwtEnvSchema, type JwtSettings, resolveJwtSettings } from './identity/jwt-settings.ts';
import {
  auditStreamUrl,
  deliveryUrl,
  integer,
  LOG_LEVELS,
  origins,
  required,
  trustedProxyCidrs,
  vonageBaseUrl,
} from './config-fields.ts';

/**
 * All configuration, read from the environment once at start. Every problem is reported together,
 * and credentials have no defaults: a pod that is missing one must not start.
 */

const envSchema = z
  .object({
    PORT: integer(8080, 1, 65535),
    DATABASE_URL: required('a postgres:// URL').refine(
      (value) => /^postgres(ql)?:\/\//.test(value),
      'must be a postgres:// URL',
    ),
    VONAGE_API_KEY: required('the Vonage master API key'),
    VONAGE_API_SECRET: required('the Vonage master API secret'),
    VONAGE_BASE_URL: vonageBaseUrl,
    VONAGE_TIMEOUT_MS: integer(10_000, 100, 120_000),
    VONAGE_CONNECT_TIMEOUT_MS: integer(3_000, 50, 60_000),
    VONAGE_HEADERS_TIMEOUT_MS: integer(8_000, 50, 120_000),
    VONAGE_BODY_TIMEOUT_MS: integer(8_000, 50, 120_000),
    VONAGE_GET_RETRIES: integer(2, 0, 2),
    VONAGE_BREAKER_THRESHOLD: integer(5, 1, 1_000),
    VONAGE_BREAKER_OPEN_MS: integer(10_000, 100, 600_000),
    ACCESS_POLICY_FILE: required('a YAML or JSON access policy'),
    IDEMPOTENCY_HMAC_KEY: required('a random key of 32+ characters for Idempotency-Key fingerprints').pipe(
      z.string().min(32, 'must be at least 32 characters'),
    ),
    TRUSTED_PROXY_CIDRS: trustedProxyCidrs,
    RATE_LIMIT_READS_PER_MINUTE: integer(120, 1, 100_000),
    RATE_LIMIT_WRITES_PER_MINUTE: integer(10, 1, 100_000),
    LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
    SHUTDOWN_TIMEOUT_MS: integer(25_000, 0, 600_000),
    SHUTDOWN_DRAIN_DELAY_MS: integer(5_000, 0, 120_000),
    METRICS_PORT: integer(9464, 1, 65535),
    AUTH_MODE: z.enum(['headers', 'jwt']).default('headers'),
    CORS_ALLOWED_ORIGINS: origins,
    SECRET_MAX_AGE_DAYS: integer(90, 1, 3650),
    ROTATION_STALE_AFTER_HOURS: integer(72, 1, 8760),
    ACCOUNT_DISCOVERY_INTERVAL_MINUTES: integer(15, 1, 1440),
    AUDIT_STREAM_URL: auditStreamUrl,
    AUDIT_STREAM_FORMAT: z.enum(['webhook', 'splunk-hec']).default('webhook'),
    AUDIT_STREAM_SECRET: z.string().startsWith('whsec_', 'must be a Standard Webhooks secret (whsec_…)').optional(),
    AUDIT_STREAM_TOKEN: z.string().min(1).optional(),
    AUDIT_STREAM_BATCH: integer(100, 1, 10_000),
    AUDIT_ANCHOR_INTERVAL_MINUTES: integer(60, 1, 1440),
    AUDIT_VERIFY_INTERVAL_MINUTES: integer(5, 1, 1440),
    EXPORT_IDLE_TIMEOUT_SECONDS: integer(60, 1, 3600),
    AUDIT_FULL_VERIFY_INTERVAL_HOURS: integer(24, 1, 720),
    DELIVERY_TOKEN_HMAC_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    DELIVERY_TOKEN_DAYS: integer(400, 1, 3650),
    DELIVERY_MIN_INTERVAL_SECONDS: integer(3600, 60, 2_592_000),
    DELIVERY_URL: deliveryUrl,
  })
  .extend(jwtEnvSchema.shape);

/** headers: oauth2-proxy's plain headers from a trusted peer; jwt: a signed assertion, verified. */
export type AuthConfig = { mode: 'headers' } | { mode: 'jwt'; jwt: JwtSettings };

export interface Config {
  port: number;
  databaseUrl: string;
  vonage: {
    apiKey: string;
    apiSecret: string;
    baseUrl: string;
    timeoutMs: number;
    connectTimeoutMs: number;
    headersTimeoutMs: number;
    bodyTimeoutMs: number;
    getRetries: number;
  };
  breaker: { failureThreshold: number; openMs: number };
  accessPolicyFile: string;
  idempotencyHmacKey: string;
  trustedProxyCidrs: string[];
  rateLimits: { readsPerMinute: number; writesPerMinute: number };
  logLevel: (typeof LOG_LEVELS)[number];
  shutdownTimeoutMs: number;
  drainDelayMs: number;
  metricsPort: number;
  auth: AuthConfig;
  /** Other origins whose pages may call /v1; empty means same-origin only. */
  corsAllowedOrigins: string[];
  /** Secrets older than this many days are flagged as overdue for rotation. */
  secretMaxAgeDays: number;
  /** A rotation awaiting cutover longer than this is reported as stale. */
  rotationStaleAfterHours: number;
  /** How often one replica refreshes the estate: accounts from Vonage, their secrets, the age metrics. */
  accountDiscoveryIntervalMinutes: number;
  /** Where the audit log is streamed (a SIEM); undefined: not streamed. */
  auditStream?: AuditStreamSettings;
  /** How often a checkpoint (chain position and head hash) is emitted, and the chain re-verified. */
  auditAnchorIntervalMinutes: number;
  auditVerifyIntervalMinutes: number;
  /** How often one replica walks the whole chain again (the incremental verify cannot see an old edit). */
  auditFullVerifyIntervalHours: number;
  /** An export whose client takes nothing for this long is stopped, and its slot freed. */
  exportIdleTimeoutSeconds: number;
  /** Delivery to workloads (ESO): tokens undefined when DELIVERY_TOKEN_HMAC_KEY is unset (delivery off). */
  delivery: { tokens?: { hmacKey: string; ttlDays: number }; minIntervalSeconds: number; url?: string };
}

/** Streaming is on when AUDIT_STREAM_URL is set; its format then needs its own credential. */
function auditStreamOf(e: z.infer<typeof envSchema>, problems: string[]): AuditStreamSettings | undefined {
  if (!e.AUDIT_STREAM_URL) return undefined;
  const base = { url: e.AUDIT_STREAM_URL, batch: e.AUDIT_STREAM_BATCH };
  if (e.AUDIT_STREAM_FORMAT === 'splunk-hec') {
    if (e.AUDIT_STREAM_TOKEN) return { ...base, format: 'splunk-hec', token: e.AUDIT_STREAM_TOKEN };
    problems.push('AUDIT_STREAM_TOKEN is required (the HEC token) when AUDIT_STREAM_FORMAT is splunk-hec');
    return undefined;
  }
  if (e.AUDIT_STREAM_SECRET) return { ...base, format: 'webhook', secret: e.AUDIT_STREAM_SECRET };
  problems.push('AUDIT_STREAM_SECRET is required (whsec_…) to sign the audit stream');
  return undefined;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Empty strings count as unset, so `FOO=` in a manifest falls back to the default or is reported missing. */
const withoutEmpty = (env: NodeJS.ProcessEnv) =>
  Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));

/** The jwt fields that parse on their own, so cross-field problems are reported beside field problems. */
function validJwtFields(raw: Record<string, unknown>): JwtEnv {
  const fields = Object.entries(jwtEnvSchema.shape).flatMap(([name, schema]) => {
    const parsed = schema.safeParse(raw[name]);
    return parsed.success && parsed.data !== undefined ? [[name, parsed.data]] : [];
  });
  return Object.fromEntries(fields) as JwtEnv;
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const raw = withoutEmpty(env);
  const parsed = envSchema.safeParse(raw);
  // Messages name the variable and the rule, never the value: a value may be a credential.
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
  const jwt = raw.AUTH_MODE === 'jwt' ? resolveJwtSettings(validJwtFields(raw)) : undefined;
  problems.push(...(jwt?.problems ?? []));
  const auditStream = parsed.success ? auditStreamOf(parsed.data, problems) : undefined;
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const auth: AuthConfig = jwt?.settings ? { mode: 'jwt', jwt: jwt.settings } : { mode: 'headers' };
  return Object.freeze({
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    vonage: {
      apiKey: e.VONAGE_API_KEY,
      apiSecret: e.VONAGE_API_SECRET,
      baseUrl: e.VONAGE_BASE_URL,
      timeoutMs: e.VONAGE_TIMEOUT_MS,
      connectTimeoutMs: e.VONAGE_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: e.VONAGE_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: e.VONAGE_BODY_TIMEOUT_MS,
      getRetries: e.VONAGE_GET_RETRIES,
    },
    breaker: { failureThreshold: e.VONAGE_BREAKER_THRESHOLD, openMs: e.VONAGE_BREAKER_OPEN_MS },
    accessPolicyFile: e.ACCESS_POLICY_FILE,
    idempotencyHmacKey: e.IDEMPOTENCY_HMAC_KEY,
    trustedProxyCidrs: e.TRUSTED_PROXY_CIDRS,
    rateLimits: { readsPerMinute: e.RATE_LIMIT_READS_PER_MINUTE, writesPerMinute: e.RATE_LIMIT_WRITES_PER_MINUTE },
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    drainDelayMs: e.SHUTDOWN_DRAIN_DELAY_MS,
    metricsPort: e.METRICS_PORT,
    auth,
    corsAllowedOrigins: e.CORS_ALLOWED_ORIGINS,
    secretMaxAgeDays: e.SECRET_MAX_AGE_DAYS,
    rotationStaleAfterHours: e.ROTATION_STALE_AFTER_HOURS,
    accountDiscoveryIntervalMinutes: e.ACCOUNT_DISCOVERY_INTERVAL_MINUTES,
    auditStream,
    auditAnchorIntervalMinutes: e.AUDIT_ANCHOR_INTERVAL_MINUTES,
    auditVerifyIntervalMinutes: e.AUDIT_VERIFY_INTERVAL_MINUTES,
    auditFullVerifyIntervalHours: e.AUDIT_FULL_VERIFY_INTERVAL_HOURS,
    exportIdleTimeoutSeconds: e.EXPORT_IDLE_TIMEOUT_SECONDS,
    delivery: {
      tokens: e.DELIVERY_TOKEN_HMAC_KEY
        ? { hmacKey: e.DELIVERY_TOKEN_HMAC_KEY, ttlDays: e.DELIVERY_TOKEN_DAYS }
        : undefined,
      minIntervalSeconds: e.DELIVERY_MIN_INTERVAL_SECONDS,
      url: e.DELIVERY_URL,
    },
  });
}
