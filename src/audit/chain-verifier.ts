import { type ChainReport, type Checkpoint, checkpointAfter, verifyChain } from './chain.ts';
import type { LongReads } from './long-reads.ts';

/**
 * Routine verification costs only what was written since the last one: the process remembers the
 * last intact position and its hash, and starts from there. `full` walks from the genesis again (the
 * CLI always does). Callers that arrive while a walk is running share its answer instead of starting
 * their own, so a burst of verify calls costs one walk.
 */
export interface ChainVerifier {
  verify(options?: { full?: boolean }): Promise<ChainReport>;
}

/** Walks run as long reads; callers who join a running walk take no slot of their own. */
export function createChainVerifier(longReads: LongReads): ChainVerifier {
  let checkpoint: Checkpoint | undefined;
  const running = new Map<'full' | 'incremental', Promise<ChainReport>>();
  const walk = async (from: Checkpoint | undefined) => {
    const report = await longReads.run((db) => verifyChain(db, from));
    checkpoint = checkpointAfter(report); // a broken chain is walked in full next time, so no report goes stale
    return report;
  };
  return {
    verify({ full = false } = {}) {
      const kind = full ? 'full' : 'incremental';
      let shared = running.get(kind);
      if (!shared) {
        shared = walk(full ? undefined : checkpoint).finally(() => running.delete(kind));
        running.set(kind, shared);
      }
      return shared;
    },
  };
}
