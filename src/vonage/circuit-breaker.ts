import { AppError } from '../errors.ts';

/**
 * Stops calling Vonage after sustained failures, answering 503 at once with Retry-After, and lets a
 * single probe through after `openMs` to find out whether it has recovered.
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface CircuitBreaker {
  state(): CircuitState;
  /** Throws AppError 503 while open (or while the half-open probe is out); otherwise admits the call. */
  admit(): void;
  recordSuccess(): void;
  recordFailure(): void;
}

export interface CircuitBreakerOptions {
  failureThreshold: number;
  openMs: number;
  onStateChange?: (state: CircuitState) => void;
  now?: () => number;
}

export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now;
  let state: CircuitState = 'closed';
  let consecutiveFailures = 0;
  let openedAt = 0;
  let probeOut = false;

  const moveTo = (next: CircuitState) => {
    if (next === state) return;
    state = next;
    options.onStateChange?.(next);
  };

  const refuse = () => {
    const seconds = Math.max(1, Math.ceil((openedAt + options.openMs - now()) / 1000));
    return new AppError(
      'upstream-unavailable',
      503,
      'Vonage has been failing; the gateway is not calling it for a moment.',
      { retryAfterSeconds: seconds },
    );
  };

  return {
    state: () => state,
    admit() {
      if (state === 'closed') return;
      if (state === 'open' && now() - openedAt >= options.openMs) moveTo('half_open');
      if (state === 'half_open' && !probeOut) {
        probeOut = true;
        return;
      }
      throw refuse();
    },
    recordSuccess() {
      consecutiveFailures = 0;
      probeOut = false;
      moveTo('closed');
    },
    recordFailure() {
      consecutiveFailures += 1;
      if (state === 'half_open' || consecutiveFailures >= options.failureThreshold) {
        probeOut = false;
        openedAt = now();
        moveTo('open');
      }
    },
  };
}
