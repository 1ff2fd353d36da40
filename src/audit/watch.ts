import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import type { Logger } from '../logger.ts';
import { type Repeating, repeat } from '../repeat.ts';
import { checkpointOf } from './anchors.ts';
import { type Checkpoint, checkpointAfter, verifyChain } from './chain.ts';
import { lastFullVerification, recordFullVerification } from './full-verifications.ts';

/**
 * The chain's watch, on one replica at a time (a transaction-scoped advisory lock): an incremental
 * verify every interval (cheap, since it starts from the last intact position), its result as metrics,
 * and a checkpoint to the log every anchor interval.
 */
export interface ChainGauges {
  /** Not called before the first verify: until then the chain is "not yet verified", never "broken". */
  verified(intact: boolean, at: Date, check: 'full' | 'incremental'): void;
}

const LOCK_KEY = 7_340_917;

/**
 * Writes a checkpoint to the log: one structured line, for the log pipeline to keep. The SIEM gets its
 * checkpoints from the stream, through the same retried path as the records (stream/deliverer.ts).
 */
export async function logCheckpoint(db: Kysely<Database>, logger: Logger) {
  const checkpoint = await checkpointOf(db);
  logger.info('audit checkpoint', { ...checkpoint });
  return checkpoint;
}

/**
 * One round, on the replica that holds the lock: a full walk when none has been recorded within the full
 * interval (any replica's), else an incremental one from where this process last left off.
 */
export function watchChain(
  db: Kysely<Database>,
  options: {
    logger: Logger;
    gauges: ChainGauges;
    verifyEveryMs: number;
    anchorEveryMs: number;
    fullEveryMs: number;
  },
): Repeating {
  let from: Checkpoint | undefined;
  let lastAnchor = 0;
  const fullDue = async () => {
    if (!from) return true; // a process's first walk is a full one: it has no position to start from
    const last = await lastFullVerification(db);
    return !last || Date.now() - last.verifiedAt.getTime() >= options.fullEveryMs;
  };
  const round = () =>
    db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${LOCK_KEY}) as locked`.execute(
        trx,
      );
      if (!rows[0]?.locked) return;
      const full = await fullDue();
      const report = await verifyChain(db, full ? undefined : from);
      from = checkpointAfter(report);
      if (full) await recordFullVerification(db, report);
      options.gauges.verified(report.status === 'intact', new Date(), full ? 'full' : 'incremental');
      if (report.status !== 'intact') options.logger.error('audit chain broken', { report });
      if (Date.now() - lastAnchor >= options.anchorEveryMs) {
        await logCheckpoint(db, options.logger);
        lastAnchor = Date.now();
      }
    });
  return repeat(options.verifyEveryMs, () =>
    round().catch((error: Error) => options.logger.warn('audit chain watch failed', { error: error.message })),
  );
}
