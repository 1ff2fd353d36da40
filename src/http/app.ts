import express, { type Express, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import type { ChainVerifier } from '../audit/chain-verifier.ts';
import type { LongReads } from '../audit/long-reads.ts';
import type { AuditDeps } from '../audit/trail.ts';
import type { Config } from '../config.ts';
import type { Database } from '../database.ts';
import type { EstateDirectory } from '../estate/directory.ts';
import type { IdempotencyDeps } from '../idempotency/once-per-key.ts';
import type { IdentityProvider } from '../identity/identity.ts';
import { trustedPeers } from '../identity/trusted-peers.ts';
import type { Logger } from '../logger.ts';
import type { Policy } from '../policy/policy.ts';
import type { VonageSecrets } from '../vonage/client.ts';
import { identityEncodingOnly, noStore, refuseCrossSiteRequests } from './browser-guards.middleware.ts';
import { corsForListedOrigins } from './cors.middleware.ts';
import { sendProblem } from './errors.middleware.ts';
import { gated } from './gated.ts';
import { leanJsonAnswers } from './json-answers.ts';
import { authenticate } from './identity.middleware.ts';
import type { Metrics } from './metrics.ts';
import type { Contract, ContractChecks } from './openapi.ts';
import { type RateLimitStoreFactory, type RateLimits, rateLimits } from './rate-limit.middleware.ts';
import { requestContext } from './request-context.middleware.ts';
import { accountsRouter } from './routes/accounts.routes.ts';
import { auditEventsRouter } from './routes/audit-events.routes.ts';
import { consoleRouter } from './routes/console.routes.ts';
import { consumersRouter } from './routes/consumers.routes.ts';
import { contractRouter } from './routes/contract.routes.ts';
import { deliveriesRouter } from './routes/deliveries.routes.ts';
import { healthRouter, type Lifecycle } from './routes/health.routes.ts';
import { meRouter } from './routes/me.routes.ts';
import { reportsRouter } from './routes/reports.routes.ts';
import { rotationsRouter } from './routes/rotations.routes.ts';
import { secretsRouter } from './routes/secrets.routes.ts';
import { securityHeaders } from './security-headers.ts';
import { series } from './series.ts';

/** Everything the app mounts, built by the composition root (src/wiring.ts); the app builds nothing. */
export interface AppDeps {
  db: Kysely<Database>;
  vonage: VonageSecrets;
  /** The rules, with `accounts` bound to the estate directory. */
  policy: Policy;
  /** The accounts managed now, and when they were last refreshed. */
  estate: EstateDirectory;
  identity: IdentityProvider;
  logger: Logger;
  metrics: Metrics;
  audit: AuditDeps;
  idempotency: IdempotencyDeps;
  /** Verification and exports: their own pool, under a cap. */
  longReads: LongReads;
  chainVerifier: ChainVerifier;
  /** openapi-internal.yaml, parsed, and its compiled request checks. */
  contract: { document: Contract; checks: ContractChecks };
  trustedProxyCidrs: string[];
  rateLimits: RateLimits;
  /** Omitted: each instance counts in memory. Production shares counts through Postgres. */
  rateLimitStore?: RateLimitStoreFactory;
  /** Other origins whose pages may call /v1 (CORS_ALLOWED_ORIGINS). */
  allowedOrigins: string[];
  /** jwt mode: browsers on listed origins may send Authorization (CORS). */
  authMode: 'headers' | 'jwt';
  /** The built console (dist/console); missing, /console/ is 404. */
  consoleDir: string;
  lifecycle: Lifecycle;
  /** SECRET_MAX_AGE_DAYS, ROTATION_STALE_AFTER_HOURS, and how long a rotation step may hold its row. */
  rotation: { secretMaxAgeDays: number; staleAfterHours: number; leaseMs: number };
  /** EXPORT_IDLE_TIMEOUT_SECONDS, in ms. */
  exportIdleMs: number;
  /** Delivery tokens (undefined: delivery off) and the least time between two deliveries to one consumer. */
  delivery: Config['delivery'];
}

const BODY_LIMIT = '4kb';
/** No page of ours may be framed: X-Frame-Options says DENY, as the CSPs' frame-ancestors 'none' does. */
const HELMET = {
  xFrameOptions: { action: 'deny' as const },
  contentSecurityPolicy: { directives: { 'frame-ancestors': ["'none'"] } },
};

/** Body parsing and the contract check, run by each route (so audited routes can audit a refusal). */
function routeChecks(validate: RequestHandler): RequestHandler[] {
  return [series(identityEncodingOnly, express.json({ limit: BODY_LIMIT, strict: true }), validate)];
}

function configured(app: Express, deps: AppDeps): void {
  app.disable('x-powered-by');
  // Every /v1 answer is no-store, so an ETag (a SHA-1 of each body) would only cost time.
  app.set('etag', false);
  // req.ip is the client behind the SSO proxy only when the peer is one of the trusted proxies.
  app.set('trust proxy', trustedPeers(deps.trustedProxyCidrs));
  // Only a path that is exactly a contract path may reach a handler: /V1/Accounts/… and trailing slashes are 404.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  // No answer of ours is a 304 from res.send: /v1 answers are no-store, nothing sets a validator (ETags are off),
  // and the console's files are revalidated by express.static itself. Without this, `If-None-Match: *`
  // would still turn any answer into an empty 304. Set once on the app's request prototype, not per request.
  Object.defineProperty(app.request, 'fresh', { get: () => false });
  leanJsonAnswers(app);
}

/** What /v1/me tells the console about this gateway's settings. */
const meSettings = (deps: AppDeps) => ({
  secretMaxAgeDays: deps.rotation.secretMaxAgeDays,
  delivery: { enabled: deps.delivery.tokens !== undefined, url: deps.delivery.url ?? null },
});

const secretsDeps = ({ db, policy, vonage, audit, idempotency }: AppDeps) => ({
  db,
  policy,
  vonage,
  audit,
  idempotency,
});
type Secrets = ReturnType<typeof secretsDeps>;

/** What needs no identity: health, the contract and the console, after the request context and headers. */
function openRoutes(deps: AppDeps): RequestHandler {
  return series(
    requestContext(deps.logger, deps.metrics),
    securityHeaders(HELMET),
    gated(healthRouter(deps.db, deps.lifecycle)),
    gated(contractRouter(deps.contract.document)),
    gated(consoleRouter(deps.consoleDir)),
  );
}

/** The API behind identity and the limiter: each router entered only for a path it could match, then 404/405. */
function apiRoutes(deps: AppDeps, secrets: Secrets, contract: RequestHandler[]): RequestHandler {
  const { policy, db, rotation, longReads, chainVerifier, exportIdleMs } = deps;
  const ages = { db, policy, maxAgeDays: rotation.secretMaxAgeDays, staleAfterHours: rotation.staleAfterHours };
  const settings = { ...meSettings(deps), rotationStaleAfterHours: ages.staleAfterHours };
  const asOf = () => deps.estate.asOf;
  return series(
    gated(meRouter(policy, settings, contract)),
    gated(accountsRouter({ db, policy, maxAgeDays: ages.maxAgeDays, asOf }, contract)),
    gated(secretsRouter(secrets, contract)),
    gated(reportsRouter({ ...ages, asOf }, contract)),
    gated(rotationsRouter({ ...secrets, rotationLeaseMs: rotation.leaseMs }, contract)),
    gated(consumersRouter({ ...secrets, tokens: deps.delivery.tokens }, contract)),
    gated(auditEventsRouter({ db, policy, longReads, chainVerifier, exportIdleMs }, contract)),
    // No route matched: 405 (with Allow) for a contract path, 404 for the rest.
    deps.contract.checks.unmatched,
  );
}

/**
 * Mounts middleware and routes over the dependencies given, without listening. Consecutive layers on one path
 * run as one series (src/http/series.ts): the same order as one app.use each, in five router steps.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  configured(app, deps);
  const contract = routeChecks(deps.contract.checks.validate);
  const origins = deps.allowedOrigins;
  app.use(openRoutes(deps));
  app.use(
    '/v1',
    series(noStore, corsForListedOrigins(origins, deps.authMode === 'jwt'), refuseCrossSiteRequests(origins)),
  );
  // Delivery has its own identity (a consumer's token), so it is mounted before the SSO identity.
  const { rotation } = deps;
  const secrets = secretsDeps(deps);
  const delivering = {
    ...secrets,
    rotationLeaseMs: rotation.leaseMs,
    ...deps.delivery,
    metrics: deps.metrics,
  };
  // One limiter for both: its budgets are keyed by the verified actor, a person or consumer:<name>.
  const limit = rateLimits(deps.rateLimits, deps.rateLimitStore);
  app.use(gated(deliveriesRouter({ ...delivering, rateLimit: limit }, contract)));
  app.use('/v1', series(authenticate(deps.identity), limit));
  app.use(apiRoutes(deps, secrets, contract));
  app.use(sendProblem(deps.logger));
  return app;
}
