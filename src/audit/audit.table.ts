import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

export { AUDIT_ACTIONS, AUDIT_OUTCOMES, type AuditAction, type AuditOutcome } from './vocabulary.ts';
import type { AuditAction, AuditOutcome } from './vocabulary.ts';

/** `incomplete` is never written: it is what an attempt without an outcome row reads as. */
export type RecordedOutcome = Exclude<AuditOutcome, 'incomplete'>;

/** One attempt, written before anything is forwarded. pg returns bigint columns as strings. */
export interface AuditEventsTable {
  id: Generated<string>;
  occurred_at: ColumnType<Date, never, never>;
  request_id: string;
  action: AuditAction;
  actor_email: string;
  actor_user: string | null;
  actor_groups: string[];
  api_key: string | null;
  secret_id: string | null;
  client_ip: string | null;
  user_agent: string | null;
  /** The rotation a step belongs to; null outside rotations. */
  rotation_id: string | null;
  /** Filled by the chain trigger, never by the application. */
  chain_seq: ColumnType<string | null, never, never>;
  chain_hash: ColumnType<Buffer | null, never, never>;
}

/** The single outcome of an attempt; the primary key on event_id makes a second outcome impossible. */
export interface AuditOutcomesTable {
  event_id: string;
  recorded_at: ColumnType<Date, never, never>;
  outcome: RecordedOutcome;
  status: number;
  upstream_status: number | null;
  created_secret_id: string | null;
  /** The event's api key, repeated so an api_key + outcome filter is a single index range. */
  api_key: string | null;
  chain_seq: ColumnType<string | null, never, never>;
  chain_hash: ColumnType<Buffer | null, never, never>;
}

/** The single head of the hash chain, moved only by the chain trigger. */
export interface AuditChainHeadTable {
  id: number;
  seq: string;
  hash: Buffer;
}

export type NewAuditEvent = Insertable<AuditEventsTable>;
export type NewAuditOutcome = Insertable<AuditOutcomesTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
