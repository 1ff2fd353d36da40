import pg from 'pg';
import { createMigratedDatabase, withRole } from './global-setup.ts';

/** A separate, migrated database for tests that must break or flood the audit chain without touching others'. */
export interface ScratchDatabase {
  gatewayUrl: string;
  superuserUrl: string;
  auditorUrl: string;
  /** gateway_owner: owns the tables and the chain's functions (the migration role). */
  ownerUrl: string;
  drop(): Promise<void>;
}

let counter = 0;

export async function createScratchDatabase(label: string): Promise<ScratchDatabase> {
  const adminUrl = process.env.TEST_ADMIN_URL;
  if (!adminUrl) throw new Error('TEST_ADMIN_URL is not set: run the tests through jest (npm test)');
  const name = `scratch_${label}_${process.pid}_${Date.now()}_${++counter}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  await createMigratedDatabase(adminUrl, name);
  return {
    gatewayUrl: withRole(adminUrl, 'gateway', name),
    superuserUrl: withRole(adminUrl, new URL(adminUrl).username || 'postgres', name),
    auditorUrl: withRole(adminUrl, 'auditor', name),
    ownerUrl: withRole(adminUrl, 'gateway_owner', name),
    drop: async () => {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.end();
      }
    },
  };
}
