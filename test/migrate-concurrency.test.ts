import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { withRole } from './support/global-setup.ts';

/**
 * Every new pod runs `migrate` in an init container during a rolling update, so several run at once.
 * They must queue on Postgres's advisory lock: all exit 0, and the schema is migrated exactly once.
 */
const adminUrl = () => process.env.TEST_ADMIN_URL ?? '';
const database = `migrate_race_${process.pid}_${Date.now()}`;
const migrations = readdirSync('db/migrations').filter((file) => file.endsWith('.ts'));

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function migrate(): Promise<{ code: number | null; output: string }> {
  const env = {
    PATH: process.env.PATH,
    DATABASE_URL: withRole(adminUrl(), 'gateway_owner', database),
    LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, ['src/migrate.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

beforeAll(async () => {
  await admin((client) => client.query(`create database ${database} owner gateway_owner`));
});
afterAll(async () => {
  await admin((client) => client.query(`drop database if exists ${database} with (force)`));
});

describe('npm run migrate (the init container)', () => {
  test('when three pods migrate a fresh database at once, then all exit 0 and each migration is applied once', async () => {
    const runs = await Promise.all([migrate(), migrate(), migrate()]);

    expect(runs.map((run) => run.code)).toEqual([0, 0, 0]);
    const owner = new pg.Client({ connectionString: withRole(adminUrl(), 'gateway_owner', database) });
    await owner.connect();
    const { rows } = await owner.query('select name from kysely_migration order by name').finally(() => owner.end());
    const applied = rows.map((row) => row.name as string);
    expect(applied).toEqual(migrations.map((file) => file.replace(/\.ts$/, '')));
    const appliedBy = runs.filter((run) => run.output.includes('Success')).length;
    expect(appliedBy).toBe(1);
  }, 60_000);
});
