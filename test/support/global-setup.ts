import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase } from '../../src/database.ts';
import { createLogger } from '../../src/logger.ts';
import { migrateToLatest } from '../../src/migrate.ts';
import { buildConsole } from '../../tools/build-console.ts';
import { startCluster } from './pg-cluster.ts';

/**
 * Starts a real Postgres for the whole run (unless DATABASE_URL points at one), creates the roles from
 * db/roles.sql and a fresh database owned by gateway_owner, and applies the migrations as that owner,
 * as production does. The tests then run the service as `gateway`. Env set here reaches every worker.
 */

export const withRole = (url: string, role: string, database?: string) => {
  const next = new URL(url);
  next.username = role;
  if (database) next.pathname = `/${database}`;
  return next.toString();
};

export async function createMigratedDatabase(adminUrl: string, database: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(readFileSync('db/roles.sql', 'utf8'));
    await admin.query(`create database ${database} owner gateway_owner`);
  } finally {
    await admin.end();
  }
  const db = createDatabase({
    connectionString: withRole(adminUrl, 'gateway_owner', database),
    logger: createLogger('warn'),
  });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}

export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const cluster = await startCluster();
    adminUrl = cluster.url;
    process.env.PGTEST_PID = String(cluster.pid);
    process.env.PGTEST_DIR = cluster.dir;
    process.env.PGTEST_BIN = cluster.bin;
  }
  const database = `gateway_test_${process.pid}_${Date.now()}`;
  await createMigratedDatabase(adminUrl, database);
  process.env.TEST_ADMIN_URL = adminUrl;
  process.env.TEST_SUPERUSER_DATABASE_URL = withRole(adminUrl, new URL(adminUrl).username || 'postgres', database);
  process.env.TEST_DATABASE_URL = withRole(adminUrl, 'gateway', database);
  process.env.TEST_AUDITOR_DATABASE_URL = withRole(adminUrl, 'auditor', database);
  process.env.TEST_OWNER_DATABASE_URL = withRole(adminUrl, 'gateway_owner', database);
  // The console, built as `npm run build` builds it, so the tests serve the real bundle.
  const consoleDir = mkdtempSync(join(tmpdir(), 'console-'));
  await buildConsole(consoleDir, { quiet: true });
  process.env.CONSOLE_DIR = consoleDir;
}
