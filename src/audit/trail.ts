import type { Kysely } from 'kysely';
import type { Database } from '../database.ts';
import { AppError, unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  type AuditAttempt,
  type AuditOutcomeRecord,
  recordIntent,
  recordOutcome,
  recordSettledAttempt,
} from './recorder.ts';

/**
 * Everything that happens to one create or revoke attempt, written through one object, so it is
 * recorded exactly once: as a refusal, a replay, or an intent followed by an outcome. No Express here.
 */
export interface AuditDeps {
  db: Kysely<Database>;
  logger: Logger;
  /** Counts failed writes (intent: refused with 503; outcome: left incomplete), e.g. into a metric. */
  onWriteFailure?: (stage: 'intent' | 'outcome') => void;
}

export interface AuditTrail {
  /** Runs `work`; a refusal it throws before anything else was recorded is recorded, then rethrown. */
  refusalsRecorded<T>(work: () => Promise<T>): Promise<T>;
  /** Records a refusal decided outside the use case (bad input at the HTTP layer). */
  refused(error: AppError): Promise<void>;
  replayed(status: number, createdSecretId: string | null): Promise<void>;
  /**
   * A change to our own database, written in one transaction with its audit record (intent and outcome):
   * both happen or neither. A refusal the change throws rolls it back and is recorded as a refusal.
   */
  together<T>(status: number, change: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Intent first, then `forward`, then its outcome; see auditedCall. */
  call<T>(success: Success<T>, forward: () => Promise<Forwarded<T>>): Promise<T>;
}

/** What forwarding to an upstream answers: the value, and the upstream's own status for the outcome row. */
export interface Forwarded<T> {
  value: T;
  upstreamStatus: number | null;
}

export interface Success<T> {
  status: number;
  createdSecretId?: (value: T) => string;
}

type Refusal = 'invalid' | 'denied' | 'conflict';
/** By status; the gateway's own refusals because of state (a rotation's, a suspended account) are `conflict`. */
const REFUSALS: Record<number, Refusal> = {
  400: 'invalid',
  409: 'invalid',
  413: 'invalid',
  415: 'invalid',
  422: 'invalid',
  403: 'denied',
  404: 'denied',
};
const STATE_REFUSALS = new Set([
  'rotation-conflict',
  'account-suspended',
  'consumer-conflict',
  'delivery-conflict',
  'delivery-too-soon',
]);
const failureOutcome = (error: unknown) =>
  error instanceof AppError && error.status < 500 ? 'upstream_rejected' : 'upstream_failed';

export function auditTrail(deps: AuditDeps, attempt: AuditAttempt): AuditTrail {
  let recorded = false;
  const settle = async (record: AuditOutcomeRecord) => {
    recorded = true;
    await recordSettledAttempt(deps.db, attempt, record).catch((error: unknown) => {
      deps.onWriteFailure?.('intent');
      throw error;
    });
  };
  const refused = async (error: AppError) => {
    const outcome = STATE_REFUSALS.has(error.code) ? 'conflict' : REFUSALS[error.status];
    if (!recorded && outcome) await settle({ outcome, status: error.status, upstreamStatus: null });
  };
  return {
    refused,
    async refusalsRecorded(work) {
      try {
        return await work();
      } catch (error) {
        if (error instanceof AppError) await refused(error);
        throw error;
      }
    },
    replayed: (status, createdSecretId) =>
      settle({ outcome: 'replayed', status, upstreamStatus: null, createdSecretId }),
    async together(status, change) {
      const value = await deps.db
        .transaction()
        .execute(async (trx) => {
          const changed = await change(trx);
          const eventId = await recordIntent(trx, attempt);
          await recordOutcome(trx, eventId, attempt.apiKey, { outcome: 'success', status, upstreamStatus: null });
          return changed;
        })
        .catch((error: unknown) => {
          if (error instanceof AppError && error.code !== 'audit-unavailable') throw error;
          deps.onWriteFailure?.('intent');
          throw error instanceof AppError ? error : unavailable('audit-unavailable', error);
        });
      recorded = true;
      return value;
    },
    async call(success, forward) {
      recorded = true;
      return auditedCall(deps, attempt, success, forward);
    },
  };
}

/**
 * Intent first: the attempt is committed before `forward` runs, and a failed commit stops the request
 * with 503. The outcome is written after Vonage answers; if that write fails the attempt stays visibly
 * `incomplete` and the caller still gets Vonage's answer, because the change has already happened.
 */
async function auditedCall<T>(
  deps: AuditDeps,
  attempt: AuditAttempt,
  success: Success<T>,
  forward: () => Promise<Forwarded<T>>,
): Promise<T> {
  const eventId = await recordIntent(deps.db, attempt).catch((error: unknown) => {
    deps.onWriteFailure?.('intent');
    throw error;
  });
  const outcome = (record: AuditOutcomeRecord) =>
    recordOutcome(deps.db, eventId, attempt.apiKey, record).catch((error: unknown) => {
      deps.onWriteFailure?.('outcome');
      deps.logger.error('audit outcome write failed; the attempt stays incomplete', {
        request_id: attempt.requestId,
        event_id: eventId,
        error: (error as Error).message,
      });
    });
  let answer: Forwarded<T>;
  try {
    answer = await forward();
  } catch (error) {
    const status = error instanceof AppError ? error.status : 500;
    const upstreamStatus = error instanceof AppError ? (error.options.upstreamStatus ?? null) : null;
    await outcome({ outcome: failureOutcome(error), status, upstreamStatus });
    throw error;
  }
  await outcome({
    outcome: 'success',
    status: success.status,
    upstreamStatus: answer.upstreamStatus,
    createdSecretId: success.createdSecretId?.(answer.value),
  });
  return answer.value;
}
