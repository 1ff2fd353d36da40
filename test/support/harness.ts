import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import type { Kysely, KyselyPlugin } from 'kysely';
import supertest from 'supertest';
import { eventually } from './eventually.ts';
import winston from 'winston';
import { type SubAccountSpec, subAccountOf } from '../../src/dev/sandbox-state.ts';
import { startVonageSandbox, type VonageSandbox } from '../../src/dev/vonage-sandbox.ts';
import type { Database } from '../../src/database.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { createApp } from '../../src/http/app.ts';
import type { Metrics } from '../../src/http/metrics.ts';
import type { JwtSettings } from '../../src/identity/jwt-settings.ts';
import { createLogger } from '../../src/logger.ts';
import { parsePolicy } from '../../src/policy/policy.ts';
import { httpServer } from '../../src/http/http-server.ts';
import type { CircuitBreaker } from '../../src/vonage/circuit-breaker.ts';
import { buildGateway, type Gateway as BuiltGateway } from '../../src/wiring.ts';

export const MASTER_KEY = 'abcd1234';
export const MASTER_SECRET = 'Master5ecretValue';
export const SUB_KEY = 'sub00001';
export const UNMANAGED_KEY = 'zzzz9999';
/** DELIVERY_TOKEN_HMAC_KEY of every test gateway, so tokens survive a restart (a second gateway). */
export const DELIVERY_HMAC_KEY = 'test-delivery-token-hmac-key-0123456789abcdef';
/** Well-formed, but no secret has it (the id from Vonage's own 404 example). */
export const UNKNOWN_SECRET_ID = '07239aeb-d756-4c32-a1de-cf64f8b21827';

/** A policy with every kind of grant: group and email, all accounts and one, secrets and audit actions. */
export const TEST_POLICY = `
accounts: [abcd1234, sub00001]
grants:
  - group: platform-admins
    accounts: ["*"]
    actions: [secrets:read, secrets:create, secrets:revoke, consumers:manage]
  - group: team-payments
    accounts: [sub00001]
    actions: [secrets:read]
  - email: alice@example.com
    accounts: [sub00001]
    actions: [secrets:read, secrets:create]
  - group: security-reviewers
    actions: [audit:read]
`;

export interface GatewayOptions {
  trustedProxyCidrs?: string[];
  databaseUrl?: string;
  rateLimits?: { readsPerMinute: number; writesPerMinute: number };
  vonageTimeoutMs?: number;
  /** The secret the gateway presents to Vonage; a wrong one makes the fake answer 401. */
  vonageApiSecret?: string;
  /** AUTH_MODE=jwt with these settings; plain proxy headers otherwise. */
  jwt?: JwtSettings;
  breaker?: CircuitBreaker;
  /** Share rate-limit counts through Postgres, as production does (memory per instance otherwise). */
  sharedRateLimits?: { retrySharedAfterMs: number; statements?: { count: number }; leaseWaits?: { count: number } };
  /** CORS_ALLOWED_ORIGINS. */
  allowedOrigins?: string[];
  /** How long a rotation may sit in creating/testing before the next call treats it as interrupted. */
  rotationLeaseMs?: number;
  /** More sub-accounts for the fake Vonage (and the test policy's `*` grants): keys, or with names. */
  subAccounts?: SubAccountSpec[];
  /** An access policy other than TEST_POLICY (whose account list is extended by subAccounts). */
  policy?: string;
  /** ROTATION_STALE_AFTER_HOURS. */
  rotationStaleAfterHours?: number;
  /** AUDIT_STREAM_URL and AUDIT_STREAM_SECRET (webhook format). */
  auditStream?: { url: string; secret: string };
  /** EXPORT_IDLE_TIMEOUT_SECONDS. */
  exportIdleTimeoutSeconds?: number;
  /** false: DELIVERY_TOKEN_HMAC_KEY unset (delivery off); on by default, with a key every test shares. */
  delivery?: false;
  /** An already running fake Vonage (a second gateway, as after a restart, over the same upstream). */
  vonage?: VonageSandbox;
}

export interface Gateway {
  app: Express;
  http: ReturnType<typeof supertest>;
  vonage: VonageSandbox;
  db: Kysely<Database>;
  metrics: Metrics;
  logLines: string[];
  /** One estate refresh, as the background job runs it (a test that runs one uses its own database). */
  refreshEstate(): Promise<unknown>;
  close(): Promise<void>;
}

/** Identity headers as oauth2-proxy sends them. */
export const asCaller = (email: string, groups?: string, user?: string): Record<string, string> => ({
  'X-Forwarded-Email': email,
  ...(user === undefined ? {} : { 'X-Forwarded-User': user }),
  ...(groups === undefined ? {} : { 'X-Forwarded-Groups': groups }),
});
export const admin = asCaller('admin@example.com', 'platform-admins,staff', 'admin');
export const reviewer = asCaller('reviewer@example.com', 'security-reviewers', 'reviewer');

function fromEnv(name: string): string {
  const url = process.env[name];
  if (!url) throw new Error(`${name} is not set: run the tests through jest (npm test)`);
  return url;
}

/** The test database as the runtime role `gateway`, the way the service runs in production. */
export const testDatabaseUrl = () => fromEnv('TEST_DATABASE_URL');
/** The same database as a superuser, for what only a superuser can attempt (tampering, dumps). */
export const superuserDatabaseUrl = () => fromEnv('TEST_SUPERUSER_DATABASE_URL');
export const auditorDatabaseUrl = () => fromEnv('TEST_AUDITOR_DATABASE_URL');

/** A gateway built by the production composition root, its fake Vonage, and its captured log lines. */
export interface OpenGateway {
  gateway: BuiltGateway;
  vonage: VonageSandbox;
  logLines: string[];
  /** gateway.close(), then the fake Vonage (unless it was passed in). */
  close(): Promise<void>;
}

const countStatements = (counter: { count: number }): KyselyPlugin => ({
  transformQuery: (args) => {
    counter.count += 1;
    return args.node;
  },
  transformResult: async (args) => args.result,
});

/** The same configuration parsing as production, from variables a test chooses. */
function configFor(options: GatewayOptions, vonageUrl: string): Config {
  const config = loadConfig({
    DATABASE_URL: options.databaseUrl ?? testDatabaseUrl(),
    VONAGE_API_KEY: MASTER_KEY,
    VONAGE_API_SECRET: options.vonageApiSecret ?? MASTER_SECRET,
    VONAGE_BASE_URL: vonageUrl,
    VONAGE_TIMEOUT_MS: String(options.vonageTimeoutMs ?? 2_000),
    ACCESS_POLICY_FILE: 'inline (TEST_POLICY)',
    IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('hex'),
    TRUSTED_PROXY_CIDRS: (options.trustedProxyCidrs ?? ['loopback']).join(','),
    RATE_LIMIT_READS_PER_MINUTE: String(options.rateLimits?.readsPerMinute ?? 1_000),
    RATE_LIMIT_WRITES_PER_MINUTE: String(options.rateLimits?.writesPerMinute ?? 1_000),
    CORS_ALLOWED_ORIGINS: (options.allowedOrigins ?? []).join(','),
    ROTATION_STALE_AFTER_HOURS: String(options.rotationStaleAfterHours ?? 72),
    SHUTDOWN_TIMEOUT_MS: '10000',
    EXPORT_IDLE_TIMEOUT_SECONDS: String(options.exportIdleTimeoutSeconds ?? 60),
    AUDIT_STREAM_URL: options.auditStream?.url,
    AUDIT_STREAM_SECRET: options.auditStream?.secret,
    DELIVERY_TOKEN_HMAC_KEY: options.delivery === false ? undefined : DELIVERY_HMAC_KEY,
  });
  return options.jwt ? { ...config, auth: { mode: 'jwt', jwt: options.jwt } } : config;
}

function capturedLogger() {
  const logLines: string[] = [];
  const sink = new Writable({
    write: (chunk, _encoding, done) => {
      logLines.push(String(chunk));
      done();
    },
  });
  return { logLines, logger: createLogger('debug', new winston.transports.Stream({ stream: sink })) };
}

/** Builds the gateway through buildGateway, as production does, over a real Postgres and a fake Vonage. */
export async function openGateway(options: GatewayOptions = {}): Promise<OpenGateway> {
  const { logLines, logger } = capturedLogger();
  const subAccounts = [SUB_KEY, ...(options.subAccounts ?? [])];
  const vonage =
    options.vonage ?? (await startVonageSandbox({ masterKey: MASTER_KEY, masterSecret: MASTER_SECRET, subAccounts }));
  const config = configFor(options, vonage.url);
  const shared = options.sharedRateLimits;
  const keys = subAccounts.map((spec) => subAccountOf(spec).apiKey);
  const policyText =
    options.policy ?? TEST_POLICY.replace('accounts: [abcd1234, sub00001]', `accounts: [abcd1234, ${keys.join(', ')}]`);
  const gateway = await buildGateway(config, {
    policy: parsePolicy(policyText, 'test policy'),
    logger,
    // A short connect timeout, so the fail-closed tests see a dead database quickly.
    connectionTimeoutMs: 1_000,
    breaker: options.breaker,
    consoleDir: process.env.CONSOLE_DIR,
    rotationLeaseMs: options.rotationLeaseMs,
    rateLimitCounts: shared ? 'shared' : 'memory',
    rateLimitProbe: shared && {
      retrySharedAfterMs: shared.retrySharedAfterMs,
      plugin: shared.statements && countStatements(shared.statements),
      onLeaseWait: () => {
        if (shared.leaseWaits) shared.leaseWaits.count += 1;
      },
    },
  });
  const close = async () => {
    await gateway.close();
    if (!options.vonage) await vonage.close();
  };
  return { gateway, vonage, logLines, close };
}

/** The app built by createApp over openGateway, driven in-process by supertest. */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const { gateway, vonage, logLines, close } = await openGateway(options);
  const app = createApp(gateway.app);
  return {
    app,
    http: supertest(httpServer(app)),
    vonage,
    db: gateway.app.db,
    metrics: gateway.metrics,
    logLines,
    refreshEstate: () => gateway.refreshEstate(),
    close,
  };
}

/** The audit event a request produced, read the way a reviewer would: through the API's own query. */
export async function auditEventFor(gateway: Gateway, requestId: string) {
  const rows = await gateway.db
    .selectFrom('audit_events as e')
    .leftJoin('audit_outcomes as o', 'o.event_id', 'e.id')
    .selectAll('e')
    .select(['o.outcome', 'o.status', 'o.upstream_status', 'o.created_secret_id'])
    .where('e.request_id', '=', requestId)
    .execute();
  return rows;
}

/** An in-memory condition (a request reaching the fake), polled on every turn of the event loop. */
export const until = (condition: () => boolean, timeoutMs = 5_000) => eventually(condition, { timeoutMs, everyMs: 0 });

export const basicAuth = (key: string, secret: string) => `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;

let counter = 0;
/** A unique X-Request-Id per test request, so each test finds exactly its own audit rows. */
export const requestId = (label: string) => `t-${label}-${process.pid}-${Date.now()}-${++counter}`;
