/**
 * Runs `work` now and then every `intervalMs`, never two runs at once. `stop` clears the timer, aborts
 * the signal `work` was given (so a run that paces itself ends its pauses) and waits for a run in flight,
 * so whoever closes the pools afterwards never pulls a connection from under it.
 * `work` reports its own failures; a rejection here is only swallowed, never left unhandled.
 */
export interface Repeating {
  stop(): Promise<void>;
}

export function repeat(intervalMs: number, work: (stopping: AbortSignal) => Promise<unknown>): Repeating {
  const stopping = new AbortController();
  let running: Promise<unknown> | undefined;
  const tick = () => {
    running ??= work(stopping.signal)
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return {
    stop: async () => {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
  };
}
