import pg from 'pg';
import { createDatabase } from '../../src/database.ts';
import { createLogger } from '../../src/logger.ts';
import { migrateToLatest } from '../../src/migrate.ts';
import { startCluster } from './pg-cluster.ts';

/**
 * Starts a real Postgres for the whole run (unless DATABASE_URL points at one), creates a fresh
 * database and applies the same migrations production runs. Env set here reaches every worker.
 */
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
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${database}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  process.env.TEST_DATABASE_URL = url.toString();
  const db = createDatabase({ connectionString: url.toString(), logger: createLogger('warn') });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
