import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Kysely } from 'kysely';
import { createChainVerifier } from '../audit/chain-verifier.ts';
import { createLongReads } from '../audit/long-reads.ts';
import type { Database } from '../database.ts';
import { AppError } from '../errors.ts';
import type { IdentityProvider } from '../identity/identity.ts';
import type { Logger } from '../logger.ts';
import type { Policy } from '../policy/policy.ts';
import type { VonageSecrets } from '../vonage/client.ts';
import { identityEncodingOnly, noStore, refuseCrossSiteRequests } from './browser-guards.middleware.ts';
import { auditRefusedMutations, sendProblem } from './errors.middleware.ts';
import { authenticate } from './identity.middleware.ts';
import type { Metrics } from './metrics.ts';
import { validateAgainstContract } from './openapi.ts';
import { type RateLimitStoreFactory, type RateLimits, rateLimits } from './rate-limit.middleware.ts';
import { requestContext } from './request-context.middleware.ts';
import { auditEventsRouter } from './routes/audit-events.routes.ts';
import { healthRouter, type Lifecycle } from './routes/health.routes.ts';
import { secretsRouter } from './routes/secrets.routes.ts';

export interface AppDeps {
  db: Kysely<Database>;
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
  /** Further pools to close on shutdown, after the requests in flight have finished. */
  closeOnShutdown?: Array<() => Promise<void>>;
  lifecycle?: Lifecycle;
  /** A small pool of its own for verification and exports; omitted, they share `db` (still capped). */
  longReadDb?: Kysely<Database>;
  /** Other origins whose pages may call /v1 (CORS_ALLOWED_ORIGINS); empty by default. */
  allowedOrigins?: string[];
}

const BODY_LIMIT = '4kb';
/** Long reads at once per process; more answer 503 with Retry-After. */
const MAX_LONG_READS = 2;

/** Builds the app without listening, so tests and the server pass their own dependencies. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // req.ip is the client behind the SSO proxy only when the peer is one of the trusted proxies.
  app.set('trust proxy', deps.trustedProxyCidrs);
  // Only a path that is exactly a contract path may reach a handler: /V1/Accounts/… and trailing slashes are 404.
  app.set('case sensitive routing', true);
  app.set('strict routing', true);

  app.use(requestContext(deps.logger, deps.metrics));
  app.use(helmet());
  app.use(healthRouter(deps.db, deps.lifecycle ?? { isDraining: () => false }));
  app.use('/v1', noStore, refuseCrossSiteRequests(deps.allowedOrigins ?? []));
  app.use('/v1', authenticate(deps.identity));
  app.use('/v1', rateLimits(deps.rateLimits, deps.rateLimitStore));
  app.use(identityEncodingOnly);
  app.use(express.json({ limit: BODY_LIMIT, strict: true }));
  app.use(validateAgainstContract());
  app.use(secretsRouter(deps));
  const longReads = createLongReads(deps.longReadDb ?? deps.db, MAX_LONG_READS);
  app.use(auditEventsRouter({ db: deps.db, policy: deps.policy, longReads, chainVerifier: createChainVerifier(longReads) }));
  app.use(() => {
    throw new AppError('not-found', 404, 'No route matches this method and path.');
  });
  app.use(auditRefusedMutations(deps));
  app.use(sendProblem(deps.logger));
  return app;
}
