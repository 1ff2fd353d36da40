import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { AuditStreamSettings } from './settings.ts';
import type { Database } from '../../database.ts';
import type { Logger } from '../../logger.ts';
import { chainHead } from '../chain.ts';
import { cursorOf, moveCursor, recordsAfter } from './records.ts';
import { post } from './sink.ts';

/**
 * Streams the audit log to the SIEM: at least once, in order, from the cursor in Postgres. Exactly one
 * replica delivers, the one holding a session advisory lock; when it dies its session ends, the lock is
 * free, and another replica takes over within a poll interval. A failed POST is retried, with capped
 * exponential backoff and jitter, forever: the batch is never dropped or reordered. Checkpoints (the
 * acknowledged position and its hash) go the same way, every anchor interval while a replica leads,
 * each retried until the SIEM takes it. Creates and revokes never wait on any of this;
 * the audit rows are the source of truth.
 */
export interface StreamGauges {
  lag(records: number): void;
  delivered(at: Date): void;
}

export interface Deliverer {
  /** Ends the loop after its current step; `deadline` aborts a POST still in flight when it fires. */
  stop(deadline?: AbortSignal): Promise<void>;
}

const LOCK_KEY = 7_340_916;
const POLL_MS = 1_000;
const ANCHOR_EVERY_MS = 60 * 60_000;
const BACKOFF = { baseMs: 250, capMs: 60_000 };

export const backoffMs = (failures: number, random = Math.random) =>
  random() * Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** Math.min(failures, 20));

export function startDeliverer(
  db: Kysely<Database>,
  settings: AuditStreamSettings,
  options: { logger: Logger; gauges?: StreamGauges; pollMs?: number; anchorEveryMs?: number },
): Deliverer {
  let stopping = false;
  const abandoned = new AbortController();
  let wake: () => void = () => undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const poll = options.pollMs ?? POLL_MS;

  const anchorEveryMs = options.anchorEveryMs ?? ANCHOR_EVERY_MS;

  /** What to send next: a checkpoint of the acknowledged position when one is due, else the next records. */
  async function nextPayload(conn: Kysely<Database>, anchoredAt: number) {
    const cursor = await cursorOf(conn);
    const head = await chainHead(conn);
    options.gauges?.lag(Number(head.seq - cursor.seq));
    if (Date.now() - anchoredAt >= anchorEveryMs) {
      const seq = Number(cursor.seq);
      return {
        head,
        checkpoint: [{ kind: 'checkpoint' as const, seq, head_hash: cursor.hash.toString('hex'), records: seq }],
      };
    }
    return { head, records: await recordsAfter(conn, cursor, settings.batch) };
  }

  async function deliverWhileLeader(conn: Kysely<Database>): Promise<void> {
    let failures = 0;
    let anchoredAt = Date.now();
    while (!stopping) {
      const { head, checkpoint, records } = await nextPayload(conn, anchoredAt);
      if (records?.length === 0) {
        await pause(poll);
        continue;
      }
      const payload = checkpoint ?? records ?? [];
      try {
        await post(settings, payload, abandoned.signal);
      } catch (error) {
        failures += 1;
        const what = checkpoint ? 'checkpoint' : 'batch';
        options.logger.warn(`audit stream delivery failed; retrying the same ${what}`, {
          seq: payload[0]?.seq,
          failures,
          error: (error as Error).message,
        });
        await pause(backoffMs(failures));
        continue;
      }
      failures = 0;
      options.gauges?.delivered(new Date());
      if (checkpoint) {
        anchoredAt = Date.now();
        continue;
      }
      const last = payload.at(-1) as { seq: number; hash: string };
      await moveCursor(conn, { seq: BigInt(last.seq), hash: Buffer.from(last.hash, 'hex') });
      options.gauges?.lag(Math.max(0, Number(head.seq) - last.seq));
    }
  }

  async function run(): Promise<void> {
    while (!stopping) {
      try {
        await db.connection().execute(async (conn) => {
          const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${LOCK_KEY}) as locked`.execute(
            conn,
          );
          if (!rows[0]?.locked) return;
          try {
            await deliverWhileLeader(conn);
          } finally {
            await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(conn).catch(() => undefined);
          }
        });
      } catch (error) {
        options.logger.warn('audit stream paused', { error: (error as Error).message });
      }
      if (!stopping) await pause(poll);
    }
  }

  const running = run();
  return {
    async stop(deadline) {
      stopping = true;
      if (deadline?.aborted) abandoned.abort();
      deadline?.addEventListener('abort', () => abandoned.abort(), { once: true });
      wake();
      await running;
    },
  };
}
