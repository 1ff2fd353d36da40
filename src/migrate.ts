import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Kysely } from 'kysely';
import { FileMigrationProvider, Migrator } from 'kysely/migration';

/** db/migrations, both from src/ (Node type stripping, Jest) and from dist/src/ (the build). */
const migrationFolder = fileURLToPath(new URL('../db/migrations', import.meta.url));

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({
      fs,
      path,
      migrationFolder,
      import: (file) => import(pathToFileURL(file).href),
    }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const applied = results.map((result) => `${result.migrationName}: ${result.status}`);
  if (error) throw new Error(`migration failed after [${applied.join(', ')}]`, { cause: error });
  return applied;
}

async function main(): Promise<void> {
  const { createDatabase } = await import('./database.ts');
  const { createLogger } = await import('./logger.ts');
  const connectionString = process.env.DATABASE_URL;
  if (!connectionString) throw new Error('DATABASE_URL is required');
  const logger = createLogger(process.env.LOG_LEVEL ?? 'info');
  const db = createDatabase({ connectionString, logger, connectionTimeoutMs: 10_000 });
  try {
    const applied = await migrateToLatest(db);
    logger.info('migrations applied', { applied });
  } finally {
    await db.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
