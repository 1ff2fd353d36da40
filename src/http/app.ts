import express, { type Express, type RequestHandler } from 'express';
import helmet from 'helmet';
import type { Kysely } from 'kysely';
import { createChainVerifier } from '../audit/chain-verifier.ts';
import { createLongReads } from '../audit/long-reads.ts';
import type { AuditDeps } from '../audit/trail.ts';
import type { Database } from '../database.ts';
import type { IdentityProvider } from '../identity/identity.ts';
import { trustedPeers } from '../identity/trusted-peers.ts';
import type { Logger } from '../logger.ts';
import type { Policy } from '../policy/policy.ts';
import type { VonageSecrets } from '../vonage/client.ts';
import { identityEncodingOnly, noStore, refuseCrossSiteRequests } from './browser-guards.middleware.ts';
import { corsForListedOrigins } from './cors.middleware.ts';
import { sendProblem } from './errors.middleware.ts';
import { authenticate } from './identity.middleware.ts';
import type { Metrics } from './metrics.ts';
import { type Contract, contractChecks, loadContract } from './openapi.ts';
import { type RateLimitStoreFactory, type RateLimits, rateLimits } from './rate-limit.middleware.ts';
import { requestContext } from './request-context.middleware.ts';
import { auditEventsRouter } from './routes/audit-events.routes.ts';
import { consoleRouter } from './routes/console.routes.ts';
import { contractRouter } from './routes/contract.routes.ts';
import { healthRouter, type Lifecycle } from './routes/health.routes.ts';
import { meRouter } from './routes/me.routes.ts';
import { reportsRouter } from './routes/reports.routes.ts';
import { rotationsRouter } from './routes/rotations.routes.ts';
import { secretsRouter } from './routes/secrets.routes.ts';

export interface AppDeps {
  db: Kysely<Database>;
  /** A small pool of its own for verification and exports; omitted, they share `db` (still capped). */
  longReadDb?: Kysely<Database>;
  vonage: VonageSecrets;
  policy: Policy;
  identity: IdentityProvider;
  logger: Logger;
  trustedProxyCidrs: string[];
  rateLimits: RateLimits;
  /** Omitted: each instance counts in memory. Production shares counts through Postgres. */
  rateLimitStore?: RateLimitStoreFactory;
  metrics: Metrics;
  /** Keys Idempotency-Key request fingerprints (HMAC); from config only, never stored. */
  idempotencyHmacKey: string;
  /** Other origins whose pages may call /v1 (CORS_ALLOWED_ORIGINS); empty by default. */
  allowedOrigins?: string[];
  /** jwt mode: browsers on listed origins may send Authorization (CORS). */
  authMode?: 'headers' | 'jwt';
  /** The built console (dist/console); omitted or missing, /console/ is 404. */
  consoleDir?: string;
  /** Secrets older than this are flagged as overdue for rotation (SECRET_MAX_AGE_DAYS). */
  secretMaxAgeDays?: number;
  /** A rotation stuck in creating/testing longer than this was interrupted by a crash (default 2 min). */
  rotationLeaseMs?: number;
  /** A rotation awaiting cutover longer than this is reported as stale (ROTATION_STALE_AFTER_HOURS). */
  rotationStaleAfterHours?: number;
  /** Further pools to close on shutdown, after the requests in flight have finished. */
  closeOnShutdown?: Array<() => Promise<void>>;
  lifecycle?: Lifecycle;
  /** openapi-internal.yaml, parsed; omitted, it is read from the file beside the build. */
  contract?: Contract;
}

const BODY_LIMIT = '4kb';
/** Long reads at once per process; more answer 503 with Retry-After. */
const MAX_LONG_READS = 2;

/** Body parsing and the contract check, run by each route (so audited routes can audit a refusal). */
function routeChecks(validate: RequestHandler): RequestHandler[] {
  return [identityEncodingOnly, express.json({ limit: BODY_LIMIT, strict: true }), validate];
}

/** Builds the app without listening, so tests and the server pass their own dependencies. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Every /v1 answer is no-store, so an ETag (a SHA-1 of each body) would only cost time.
  app.set('etag', false);
  // req.ip is the client behind the SSO proxy only when the peer is one of the trusted proxies.
  app.set('trust proxy', trustedPeers(deps.trustedProxyCidrs));
  // Only a path that is exactly a contract path may reach a handler: /V1/Accounts/… and trailing slashes are 404.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  const openapi = deps.contract ?? loadContract();
  const checks = contractChecks(openapi);
  const contract = routeChecks(checks.validate);
  const audit: AuditDeps = {
    db: deps.db,
    logger: deps.logger,
    onWriteFailure: (stage) => deps.metrics.auditWriteFailures.inc({ stage }),
  };
  const idempotency = { db: deps.db, logger: deps.logger, hmacKey: deps.idempotencyHmacKey };
  const longReads = createLongReads(deps.longReadDb ?? deps.db, MAX_LONG_READS);
  // The configuration's defaults (SECRET_MAX_AGE_DAYS, ROTATION_STALE_AFTER_HOURS), for apps built without it.
  const maxAgeDays = deps.secretMaxAgeDays ?? 90;
  const staleAfterHours = deps.rotationStaleAfterHours ?? 72;

  app.use(requestContext(deps.logger, deps.metrics));
  app.use(helmet());
  app.use(healthRouter(deps.db, deps.lifecycle ?? { isDraining: () => false }));
  app.use(contractRouter(openapi));
  app.use(consoleRouter(deps.consoleDir));
  const origins = deps.allowedOrigins ?? [];
  app.use('/v1', noStore, corsForListedOrigins(origins, deps.authMode === 'jwt'), refuseCrossSiteRequests(origins));
  app.use('/v1', authenticate(deps.identity));
  app.use('/v1', rateLimits(deps.rateLimits, deps.rateLimitStore));
  app.use(meRouter(deps.policy, { secretMaxAgeDays: maxAgeDays, rotationStaleAfterHours: staleAfterHours }, contract));
  const secretsDeps = { policy: deps.policy, vonage: deps.vonage, audit, idempotency };
  app.use(secretsRouter(secretsDeps, contract));
  app.use(
    reportsRouter({ db: deps.db, policy: deps.policy, vonage: deps.vonage, maxAgeDays, staleAfterHours }, contract),
  );
  app.use(rotationsRouter({ ...secretsDeps, db: deps.db, rotationLeaseMs: deps.rotationLeaseMs ?? 120_000 }, contract));
  app.use(
    auditEventsRouter(
      { db: deps.db, policy: deps.policy, longReads, chainVerifier: createChainVerifier(longReads) },
      contract,
    ),
  );
  // No route matched: 405 (with Allow) for a contract path, 404 for the rest.
  app.use(checks.unmatched);
  app.use(sendProblem(deps.logger));
  return app;
}
