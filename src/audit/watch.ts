import { type Kysely, sql } from 'kysely';
import type { Database } from '../database.ts';
import type { Logger } from '../logger.ts';
import { type Repeating, repeat } from '../repeat.ts';
import { checkpointOf } from './anchors.ts';
import { type Checkpoint as Position, verifyChain } from './chain.ts';

/**
 * The chain's watch, on one replica at a time (a transaction-scoped advisory lock): an incremental
 * verify every interval (cheap, since it starts from the last intact position), its result as metrics,
 * and a checkpoint to the log every anchor interval.
 */
export interface ChainGauges {
  verified(intact: boolean, at: Date): void;
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

export function watchChain(
  db: Kysely<Database>,
  options: {
    logger: Logger;
    gauges: ChainGauges;
    verifyEveryMs: number;
    anchorEveryMs: number;
  },
): Repeating {
  let from: Position | undefined;
  let lastAnchor = 0;
  const round = () =>
    db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${LOCK_KEY}) as locked`.execute(
        trx,
      );
      if (!rows[0]?.locked) return;
      const report = await verifyChain(db, from);
      from =
        report.status === 'intact'
          ? { seq: BigInt(report.records), hash: Buffer.from(report.head_hash, 'hex') }
          : undefined;
      options.gauges.verified(report.status === 'intact', new Date());
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
