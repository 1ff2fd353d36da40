/**
 * The one way a test waits for something it cannot await directly (a delivery reaching a sink, a process
 * exiting, a request reaching the fake): it polls `condition` until it holds, and fails naming `what` if
 * it never does. Never a fixed sleep, and never an assertion about how long it took.
 */
export interface Patience {
  /** Named in the failure. */
  what?: string;
  timeoutMs?: number;
  /** Between polls; 0 polls on the next turn of the event loop (for in-memory conditions). */
  everyMs?: number;
}

const nextPoll = (everyMs: number) =>
  new Promise((resolve) => (everyMs === 0 ? setImmediate(resolve) : setTimeout(resolve, everyMs)));

export async function eventually(
  condition: () => boolean | Promise<boolean>,
  { what = 'condition', timeoutMs = 5_000, everyMs = 20 }: Patience = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await nextPoll(everyMs);
  }
}
