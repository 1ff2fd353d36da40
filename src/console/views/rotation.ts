import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, describeProblem, type Secret, unwrap } from '../api.ts';
import { Reason } from './states.ts';
import { useLoad } from './use-load.ts';

interface Props {
  apiKey: string;
  secrets: Secret[];
  allowed: boolean;
  staleAfterHours: number;
  onChanged: () => void;
}

/**
 * The rotation wizard: start (the gateway creates and tests a new secret) → copy the new secret →
 * "consumers switched" → complete (the old secret is revoked). A rotation already awaiting cutover is
 * shown first, flagged when stale, with its two ways out.
 */
export function RotationPanel({ apiKey, secrets, allowed, staleAfterHours, onChanged }: Props) {
  const [rotations, reload] = useLoad(
    async () => (await unwrap(api.GET('/v1/accounts/{apiKey}/rotations', { params: { path: { apiKey } } }))).rotations,
    `rotations-${apiKey}`,
  );
  const [shown, setShown] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [discardOk, setDiscardOk] = useState(false);
  const open = rotations.state === 'ready' ? rotations.value.find((r) => r.state === 'awaiting_cutover') : undefined;
  const refresh = () => {
    reload();
    onChanged();
  };
  async function act(work: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (problem) {
      setError(describeProblem(problem));
    } finally {
      setBusy(false);
      refresh();
    }
  }
  const path = (id: string) => ({ params: { path: { apiKey, rotationId: id } } });
  const start = (retire: string, discard: string | undefined) =>
    act(async () => {
      const body = { retire_secret_id: retire, ...(discard ? { discard_secret_id: discard } : {}) };
      const started = await unwrap(api.POST('/v1/accounts/{apiKey}/rotations', { params: { path: { apiKey } }, body }));
      setShown(started.secret ?? null);
    });
  if (!allowed) {
    return html`<p><button type="button" disabled aria-describedby=${`rotate-reason-${apiKey}`}>Rotate</button>
      <${Reason} id=${`rotate-reason-${apiKey}`} text=${`needs secrets:create and secrets:revoke on ${apiKey}`} /></p>`;
  }
  if (open) {
    const hours = Math.floor((Date.now() - Date.parse(open.updated_at)) / 3_600_000);
    return html`<section class=${`rotation ${hours > staleAfterHours ? 'stale' : ''}`} aria-labelledby=${`rot-${apiKey}`}>
      <h4 id=${`rot-${apiKey}`}>Rotation in progress: awaiting cutover${hours > staleAfterHours ? ' (stale)' : ''}</h4>
      <p>Started ${open.started_at} by ${open.started_by}. New secret <code>${open.new_secret?.id}</code>; the old one
        (<code>${open.retire_secret_id}</code>) is still live.${hours > staleAfterHours ? ` It has waited ${hours} hours: two secrets are live.` : ''}</p>
      ${
        shown &&
        html`<p class="warning">New secret, shown once: <input readonly class="mono" size="28" aria-label="New secret value"
        value=${shown} /> Move every consumer to it, then complete.</p>`
      }
      <button type="button" disabled=${busy} onClick=${() => act(() => unwrap(api.POST('/v1/accounts/{apiKey}/rotations/{rotationId}/complete', path(open.id))).then(() => setShown(null)))}>
        Consumers switched: complete</button>
      <button type="button" disabled=${busy} onClick=${() => act(() => unwrap(api.POST('/v1/accounts/{apiKey}/rotations/{rotationId}/cancel', path(open.id))).then(() => setShown(null)))}>
        Cancel rotation</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
  }
  const oldest = [...secrets].sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
  const other = secrets.find((s) => s.id !== oldest?.id);
  const submit = (event: Event) => {
    event.preventDefault();
    if (oldest) void start(oldest.id, other?.id);
  };
  return html`<form class="rotate" onSubmit=${submit}>
    ${
      other &&
      html`<label><input type="checkbox" checked=${discardOk} onChange=${() => setDiscardOk(!discardOk)} />
      Revoke <code>${other.id}</code> first to make room (Vonage allows 2 secrets; nothing may still use it)</label>`
    }
    <button type="submit" disabled=${busy || !oldest || (other !== undefined && !discardOk)}>Rotate the oldest secret</button>
    <span class="hint">The gateway creates and tests a new secret; you switch consumers, then complete.</span>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}
