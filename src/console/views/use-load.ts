import { useCallback, useEffect, useState } from 'preact/hooks';

export type Loaded<T> = { state: 'loading' } | { state: 'ready'; value: T } | { state: 'failed'; error: unknown };

/**
 * Loads once per `key`, and again on reload(): the three states every view renders. A reload keeps
 * showing what it had until the new answer arrives, so nothing the user is looking at (a secret shown
 * once) disappears under them.
 */
export function useLoad<T>(load: () => Promise<T>, key: string): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [round, setRound] = useState(0);
  // `key` names what `load` reads; `load` itself is a new closure on every render, so it is not a dependency.
  useEffect(() => {
    let current = true;
    if (round === 0) setLoaded({ state: 'loading' });
    load().then(
      (value) => current && setLoaded({ state: 'ready', value }),
      (error: unknown) => current && setLoaded({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, [key, round]);
  // A new key starts over from "loading".
  useEffect(() => setRound(0), [key]);
  return [loaded, useCallback(() => setRound((n) => n + 1), [])];
}
