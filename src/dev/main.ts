import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Kysely, PGliteDialect } from 'kysely';
import { loadConfig } from '../config.ts';
import type { Database } from '../database.ts';
import { createLogger } from '../logger.ts';
import { migrateToLatest } from '../migrate.ts';
import { loadPolicy, type Policy } from '../policy/policy.ts';
import { serve, shutdownOnSignals } from '../server.ts';
import { buildGateway } from '../wiring.ts';
import { buildConsole } from '../../tools/build-console.ts';
import { devIdentities, withDevSignIn } from './dev-sign-in.ts';
import { sandboxEstate } from './sandbox-estate.ts';
import { startVonageSandbox } from './vonage-sandbox.ts';

/**
 * `npm run dev`: the real app, wired by the same buildGateway as production, on an embedded
 * Postgres (PGlite) and the built-in Vonage sandbox, so nothing but `npm ci` is needed. Both keep
 * their state under .data/, so after a restart the sandbox's secrets and the audit log agree;
 * `npm run dev -- --reset` wipes both. Never for production: it refuses NODE_ENV=production.
 */

const SANDBOX = { masterKey: 'abcd1234', masterSecret: 'Sandbox5ecret', subAccounts: ['sub00001'] };
/** `--accounts N`: an estate of N named subaccounts (see sandbox-estate.ts); otherwise the one above. */
const estateSize = (args: string[]) => {
  const at = args.indexOf('--accounts');
  const size = at < 0 ? 0 : Number(args[at + 1]);
  if (at >= 0 && !(Number.isInteger(size) && size > 0 && size <= 5_000))
    throw new Error('--accounts needs a whole number of subaccounts, 1 to 5000');
  return size;
};
const defaultPolicyFile = fileURLToPath(new URL('./dev-policy.yaml', import.meta.url));
const dataDir = process.env.DEV_DATA_DIR ?? fileURLToPath(new URL('../../.data', import.meta.url));
/** What a developer may override from the environment; everything else is the sandbox's. */
const OVERRIDABLE = [
  'PORT',
  'RATE_LIMIT_READS_PER_MINUTE',
  'RATE_LIMIT_WRITES_PER_MINUTE',
  'CORS_ALLOWED_ORIGINS',
  'LOG_LEVEL',
];

function devEnvironment(sandboxUrl: string): NodeJS.ProcessEnv {
  const overrides = Object.fromEntries(
    OVERRIDABLE.filter((name) => process.env[name]).map((name) => [name, process.env[name]]),
  );
  return {
    DATABASE_URL: 'postgres://embedded-pglite/dev', // never connected to: the embedded database is passed in
    VONAGE_API_KEY: SANDBOX.masterKey,
    VONAGE_API_SECRET: SANDBOX.masterSecret,
    VONAGE_BASE_URL: sandboxUrl,
    VONAGE_TIMEOUT_MS: '5000',
    ACCESS_POLICY_FILE: process.env.DEV_POLICY_FILE ?? defaultPolicyFile,
    IDEMPOTENCY_HMAC_KEY: 'dev-sandbox-only-idempotency-key-0123456789',
    // Delivery on, so the console's Delivery panel can be tried (its manifests point at this server).
    DELIVERY_TOKEN_HMAC_KEY: 'dev-sandbox-only-delivery-token-key-0123456789',
    DELIVERY_URL: `http://127.0.0.1:${process.env.PORT ?? 8080}/v1/deliveries`,
    TRUSTED_PROXY_CIDRS: 'loopback',
    // Iterating on a form should not meet a 429.
    RATE_LIMIT_READS_PER_MINUTE: '600',
    RATE_LIMIT_WRITES_PER_MINUTE: '600',
    ...overrides,
  };
}

async function main(): Promise<void> {
  if (process.env.NODE_ENV === 'production')
    throw new Error('npm run dev is a sandbox and refuses NODE_ENV=production; use npm start');
  if (process.argv.includes('--reset')) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const pglite = new PGlite(`${dataDir}/pglite`);
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  await migrateToLatest(db);
  const size = estateSize(process.argv);
  const subAccounts = size > 0 ? sandboxEstate(size) : SANDBOX.subAccounts;
  const sandbox = await startVonageSandbox({ ...SANDBOX, subAccounts, stateFile: `${dataDir}/vonage-sandbox.json` });
  const config = loadConfig(devEnvironment(sandbox.url));
  const logger = createLogger(config.logLevel);
  const policy = loadPolicy(config.accessPolicyFile);
  const consoleDir = `${dataDir}/console`;
  // DEV_CONSOLE=off skips the console's build and watch (an API-only session, or a test of the API).
  const withConsole = process.env.DEV_CONSOLE !== 'off';
  if (withConsole) await buildConsole(consoleDir, { quiet: true });
  const stopWatching = withConsole
    ? await buildConsole(consoleDir, { watch: true, quiet: true })
    : async () => undefined;
  const gateway = await buildGateway(config, { policy, logger, db, rateLimitCounts: 'memory', consoleDir });
  // The estate at once (the job would do it within seconds, paced): the console shows every account at first load.
  await gateway.refreshEstate();
  // The embedded database on a loopback Postgres socket, so the reviewers' CLI can be tried against it.
  const socket = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: Number(process.env.DEV_DB_PORT ?? 0) });
  await socket.start();
  const running = await serve(gateway, {
    port: config.port,
    host: '127.0.0.1',
    shutdownTimeoutMs: 5_000,
    outer: (app) => withDevSignIn(policy, app),
  });
  shutdownOnSignals(running, logger);
  running.server.once('close', () => void Promise.all([sandbox.close(), stopWatching(), socket.stop()]));
  printBanner(running.url, config.accessPolicyFile, policy, `postgres://postgres@${socket.getServerConn()}/postgres`);
}

function printBanner(url: string, policyFile: string, policy: Policy, databaseUrl: string): void {
  // The same identity the sign-in page offers first, so one developer is one actor in the audit log.
  const [you] = devIdentities(policy);
  const groups = you?.groups.length ? ` -H 'X-Forwarded-Groups: ${you.groups.join(',')}'` : '';
  const headers = `-H 'X-Forwarded-Email: ${you?.email ?? 'dev@example.com'}'${groups}`;
  console.log(`
Vonage Secrets Gateway (dev sandbox) listening on ${url} (loopback only)
  database: embedded PGlite in ${dataDir}   upstream: built-in Vonage sandbox (2-secret limit, last-secret rule)
  state: kept across restarts; \`npm run dev -- --reset\` wipes the secrets and the audit log together

Dev policy (${policyFile}; set DEV_POLICY_FILE for your own):
${readFileSync(policyFile, 'utf8').replace(/^/gm, '  ')}
  console: ${url}/console/ (sign in as any dev-policy identity at ${url}/dev/sign-in)
  estate: the sandbox's primary account and its subaccounts, discovered at start (\`-- --accounts 500\` for many)
  contract: ${url}/openapi.json (or .yaml)   who am I: ${url}/v1/me

Try it (identity headers are trusted from loopback, as from the SSO proxy):
  curl -s ${url}/v1/me ${headers}
  curl -s '${url}/v1/accounts?q=sub&limit=5' ${headers}
  curl -s ${url}/v1/accounts/abcd1234/secrets ${headers}
  curl -s -X POST ${url}/v1/accounts/abcd1234/secrets ${headers} -H 'Content-Type: application/json' -d '{"secret":"Example5ecret"}'
  curl -s ${url}/v1/audit-events ${headers}

The reviewers' CLI, against the embedded database:
  DATABASE_URL=${databaseUrl} npm run audit -- verify
  DATABASE_URL=${databaseUrl} npm run audit -- query --since 1h --format csv
`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
