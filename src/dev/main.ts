import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import type { Database } from '../database.ts';
import { proxyHeaderIdentity } from '../identity/proxy-headers.ts';
import { createMetrics } from '../http/metrics.ts';
import { createLogger } from '../logger.ts';
import { migrateToLatest } from '../migrate.ts';
import { parsePolicy } from '../policy/policy.ts';
import { serve, shutdownOnSignals } from '../server.ts';
import { createVonageClient } from '../vonage/client.ts';
import { startVonageSandbox } from './vonage-sandbox.ts';

/**
 * `npm run dev`: the real app on an embedded Postgres (PGlite, data under .data/) and the built-in
 * Vonage sandbox, so nothing but `npm ci` is needed. Never for production: it refuses NODE_ENV=production.
 */

const SANDBOX = { masterKey: 'abcd1234', masterSecret: 'Sandbox5ecret', subAccounts: ['sub00001'] };
const policyFile = fileURLToPath(new URL('./dev-policy.yaml', import.meta.url));
const dataDir = fileURLToPath(new URL('../../.data/pglite', import.meta.url));

async function main(): Promise<void> {
  if (process.env.NODE_ENV === 'production') throw new Error('npm run dev is a sandbox and refuses NODE_ENV=production; use npm start');
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
  mkdirSync(dataDir, { recursive: true });
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite: new PGlite(dataDir) }) });
  await migrateToLatest(db);
  const sandbox = await startVonageSandbox(SANDBOX);
  const policyText = readFileSync(policyFile, 'utf8');
  const trustedProxyCidrs = ['loopback'];
  const port = Number(process.env.PORT ?? 8080);
  const running = await serve(
    {
      db,
      vonage: createVonageClient({ baseUrl: sandbox.url, apiKey: SANDBOX.masterKey, apiSecret: SANDBOX.masterSecret, timeoutMs: 5_000 }),
      policy: parsePolicy(policyText, policyFile),
      identity: proxyHeaderIdentity(trustedProxyCidrs),
      logger,
      trustedProxyCidrs,
      rateLimits: { readsPerMinute: 120, writesPerMinute: 10 },
      metrics: createMetrics(),
      idempotencyHmacKey: 'dev-sandbox-only-idempotency-key-0123456789',
    },
    { port, shutdownTimeoutMs: 5_000 },
  );
  shutdownOnSignals(running, logger);
  running.server.once('close', () => void sandbox.close());
  printBanner(running.url.replace(/:\d+$/, `:${port}`), policyText);
}

function printBanner(url: string, policyText: string): void {
  const headers = `-H 'X-Forwarded-Email: dev@example.com' -H 'X-Forwarded-Groups: developers'`;
  console.log(`
Vonage Secrets Gateway (dev sandbox) listening on ${url}
  database: embedded PGlite in .data/pglite   upstream: built-in Vonage sandbox (2-secret limit, last-secret rule)

Dev policy (${policyFile}):
${policyText.replace(/^/gm, '  ')}
Try it (identity headers are trusted from loopback, as from the SSO proxy):
  curl -s ${url}/v1/accounts/abcd1234/secrets ${headers}
  curl -s -X POST ${url}/v1/accounts/abcd1234/secrets ${headers} -H 'Content-Type: application/json' -d '{"secret":"Example5ecret"}'
  curl -s ${url}/v1/audit-events ${headers}
`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
