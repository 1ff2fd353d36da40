/**
 * The canonical text of an audit record, computed here from its raw columns: an implementation of the
 * chain's definition that is independent of the SQL functions the insert trigger uses
 * (`audit_event_canonical`, `audit_outcome_canonical`), which the migration owner could replace. It
 * renders exactly what Postgres renders for `jsonb_build_array(...)::text`: arrays as `[a, b]`, strings
 * JSON-escaped (the same escapes as JSON.stringify for text Postgres can hold), numbers in decimal, and
 * times as `YYYY-MM-DDTHH:MI:SS.USZ` in UTC. A property test checks it against the SQL functions.
 */
import type { AuditEventsTable, AuditOutcomesTable } from './audit.table.ts';

type Json = string | number | bigint | null | Json[];

function render(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** Microseconds since the epoch (exact, from Postgres) as `to_char(… 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`. */
export function utcMicros(micros: string): string {
  const whole = BigInt(micros);
  const fraction = ((whole % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const seconds = new Date(Number((whole - fraction) / 1000n)).toISOString().slice(0, 19);
  return `${seconds}.${fraction.toString().padStart(6, '0')}Z`;
}

/**
 * A record's columns as the verifier reads them: the table's own columns, but the sequence, id and time as
 * Postgres prints them (exact), and the action and outcome as stored text, since the verifier renders
 * whatever a row holds, valid or not.
 */
type EventColumns =
  | 'request_id'
  | 'actor_email'
  | 'actor_user'
  | 'actor_groups'
  | 'api_key'
  | 'secret_id'
  | 'client_ip'
  | 'user_agent'
  | 'rotation_id';
export type RawEvent = Pick<AuditEventsTable, EventColumns> & {
  chain_seq: string;
  id: string;
  at_micros: string;
  action: string;
};

type OutcomeColumns = 'event_id' | 'status' | 'upstream_status' | 'created_secret_id' | 'api_key';
export type RawOutcome = Pick<AuditOutcomesTable, OutcomeColumns> & {
  chain_seq: string;
  at_micros: string;
  outcome: string;
};

export function eventCanonical(e: RawEvent): string {
  const fields: Json[] = [
    'audit_events',
    BigInt(e.chain_seq),
    BigInt(e.id),
    utcMicros(e.at_micros),
    e.request_id,
    e.action,
    e.actor_email,
    e.actor_user,
    e.actor_groups,
    e.api_key,
    e.secret_id,
    e.client_ip,
    e.user_agent,
  ];
  // Events before rotations (migration 0007) end at user_agent, so their text never changed.
  return render(e.rotation_id === null ? fields : [...fields, e.rotation_id]);
}

export function outcomeCanonical(o: RawOutcome): string {
  return render([
    'audit_outcomes',
    BigInt(o.chain_seq),
    BigInt(o.event_id),
    utcMicros(o.at_micros),
    o.outcome,
    o.status,
    o.upstream_status,
    o.created_secret_id,
    o.api_key,
  ]);
}
