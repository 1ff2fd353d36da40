import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { AuditEventsTable, AuditOutcomesTable } from './audit/tables.ts';
import type { Logger } from './logger.ts';

export interface Database {
  audit_events: AuditEventsTable;
  audit_outcomes: AuditOutcomesTable;
  rate_limit_hits: { key: string; hits: number; reset_at: Date };
}

export interface DatabaseOptions {
  connectionString: string;
  logger: Logger;
  /** How long a request may wait for a connection before the audit write counts as failed. */
  connectionTimeoutMs?: number;
  max?: number;
}

export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    // A hung statement must not hold a request: the write fails and the request fails closed.
    statement_timeout: 5_000,
    query_timeout: 6_000,
  });
  // Without a listener, an idle client that loses its server (a Postgres restart) crashes the process.
  pool.on('error', (error) => options.logger.warn('database pool client error', { error: error.message }));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
