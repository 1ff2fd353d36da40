import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { AuditChainHeadTable, AuditEventsTable, AuditOutcomesTable } from './audit/audit.table.ts';
import type { FullVerificationsTable } from './audit/full-verifications.table.ts';
import type { AuditStreamCursorTable } from './audit/stream/audit-stream-cursor.table.ts';
import type { ConsumersTable } from './delivery/consumers.table.ts';
import type { EstateAccountsTable, EstateDiscoveryTable, EstateSecretsTable } from './estate/estate.table.ts';
import type { IdempotencyKeysTable } from './idempotency/idempotency-keys.table.ts';
import type { Logger } from './logger.ts';
import type { RateLimitHitsTable } from './rate-limit/rate-limit-hits.table.ts';
import type { RotationsTable } from './rotation/rotations.table.ts';

/** Every table, each typed in the `*.table.ts` next to the repository that owns it. */
export interface Database {
  audit_events: AuditEventsTable;
  audit_outcomes: AuditOutcomesTable;
  audit_chain_head: AuditChainHeadTable;
  rate_limit_hits: RateLimitHitsTable;
  idempotency_keys: IdempotencyKeysTable;
  rotations: RotationsTable;
  audit_stream_cursor: AuditStreamCursorTable;
  audit_full_verifications: FullVerificationsTable;
  estate_accounts: EstateAccountsTable;
  estate_secrets: EstateSecretsTable;
  estate_discovery: EstateDiscoveryTable;
  consumers: ConsumersTable;
}

export interface DatabaseOptions {
  connectionString: string;
  logger: Logger;
  /** How long a request may wait for a connection before the audit write counts as failed. */
  connectionTimeoutMs?: number;
  max?: number;
  /** Every transaction read-only: for reviewers' tools, on top of the auditor role's grants. */
  readOnly?: boolean;
  /** Statement timeout; exports and verification of a long chain need more than a request does. */
  statementTimeoutMs?: number;
  /**
   * Commit without waiting for the WAL flush. Only for data whose last few commits may be lost in a
   * crash without harm — the rate-limit counters — never for the audit log.
   */
  asynchronousCommit?: boolean;
}

/** Session settings go in one libpq `options` string, so that settings combine rather than replace each other. */
function sessionSettings(options: DatabaseOptions): { options?: string } {
  const settings = [
    ...(options.readOnly ? ['-c default_transaction_read_only=on'] : []),
    ...(options.asynchronousCommit ? ['-c synchronous_commit=off'] : []),
  ];
  return settings.length > 0 ? { options: settings.join(' ') } : {};
}

export function createDatabase(options: DatabaseOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    // A hung statement must not hold a request: the write fails and the request fails closed.
    statement_timeout: options.statementTimeoutMs ?? 5_000,
    ...sessionSettings(options),
  });
  // Without listeners, a client that loses its server (a Postgres restart) emits an unhandled 'error'
  // and crashes the process: the pool covers idle clients, and each client covers itself while checked out.
  pool.on('error', (error) => options.logger.warn('database pool client error', { error: error.message }));
  pool.on('connect', (client) =>
    client.on('error', (error) => options.logger.warn('database connection lost', { error: error.message })),
  );
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
