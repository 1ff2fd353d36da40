import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, describeProblem, type Secret, unwrap } from '../api.ts';
import { ShownOnce, TypedConfirm } from './confirm.ts';
import { Reason } from './states.ts';
import { ago, When } from './when.ts';
import type { Loaded } from './use-load.ts';

export type Rotation = Awaited<ReturnType<typeof loadRotations>>[number];
export const loadRotations = async (apiKey: string) =>
  (await unwrap(api.GET('/v1/accounts/{apiKey}/rotations', { params: { path: { apiKey } } }))).rotations;

export const IN_PROGRESS = ['creating', 'testing', 'awaiting_cutover', 'completing', 'cancelling'];
export const inProgress = (rotations: Loaded<Rotation[]>) =>
  rotations.state === 'ready' ? rotations.value.find((r) => IN_PROGRESS.includes(r.state)) : undefined;

interface Props {
  apiKey: string;
  secrets: Secret[];
  rotations: Loaded<Rotation[]>;
  allowed: boolean;
  /** Why not, when not allowed (default: the actions to ask for). */
  why?: string;
  staleAfterHours: number;
  /** After a step, with what to tell the user. */
  onChanged: (message?: string) => void;
}

const HOUR_MS = 3_600_000;

/**
 * The rotation wizard: pick the secret to retire → start (the gateway creates and tests a new secret) →
 * copy the new secret → "consumers switched" → complete, confirmed by typing the retired secret's start.
 * A rotation in progress is shown first, flagged when stale, with its two ways out.
 */
export function RotationPanel({ apiKey, secrets, rotations, allowed, why, staleAfterHours, onChanged }: Props) {
  const [shown, setShown] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [completing, setCompleting] = useState(false);
  async function act(work: () => Promise<unknown>, done?: string) {
    setBusy(true);
    setError(null);
    let said: string | undefined;
    try {
      await work();
      said = done;
    } catch (problem) {
      setError(describeProblem(problem));
    } finally {
      setBusy(false);
      setCompleting(false);
      onChanged(said);
    }
  }
  if (!allowed) {
    return html`<p><button type="button" disabled aria-describedby=${`rotate-reason-${apiKey}`}>Rotate</button>
      <${Reason} id=${`rotate-reason-${apiKey}`} text=${why ?? `needs secrets:create and secrets:revoke on ${apiKey}`} /></p>`;
  }
  const open = inProgress(rotations);
  const path = (id: string) => ({ params: { path: { apiKey, rotationId: id } } });
  const finish = (id: string, step: 'complete' | 'cancel') =>
    act(
      async () => {
        const url = `/v1/accounts/{apiKey}/rotations/{rotationId}/${step}` as const;
        await unwrap(api.POST(url, path(id)));
        setShown(null);
      },
      step === 'complete'
        ? 'Rotation completed: the old secret was revoked.'
        : 'Rotation cancelled: the new secret was revoked.',
    );
  if (open) {
    const hours = Math.floor((Date.now() - Date.parse(open.updated_at)) / HOUR_MS);
    const stale = open.state === 'awaiting_cutover' && hours > staleAfterHours;
    return html`<section class=${`rotation ${stale ? 'stale' : ''}`} aria-labelledby=${`rot-${apiKey}`}>
      <h4 id=${`rot-${apiKey}`}>Rotation in progress: ${open.state.replace('_', ' ')}${stale ? ' (stale)' : ''}</h4>
      <p>Started <${When} iso=${open.started_at} /> by ${open.started_by}. New secret <code>${open.new_secret?.id}</code>; the one it
        retires (<code>${open.retire_secret_id}</code>) is still live.${stale ? ` It has waited ${hours} hours: two secrets are live.` : ''}</p>
      ${
        shown &&
        html`<p class="warning">The new secret is shown once: move every consumer to it, then complete.</p>
          <p><${ShownOnce} label="New secret value" value=${shown} /></p>`
      }
      ${
        completing
          ? html`<${TypedConfirm} secretId=${open.retire_secret_id} button="Complete"
              what=${`complete the rotation and revoke the old secret ${open.retire_secret_id}`}
              onConfirm=${() => finish(open.id, 'complete')} onCancel=${() => setCompleting(false)} />`
          : html`<button type="button" disabled=${busy || open.state !== 'awaiting_cutover'} onClick=${() => setCompleting(true)}>
              Consumers switched: complete</button>
            <button type="button" disabled=${busy} onClick=${() => finish(open.id, 'cancel')}>Cancel rotation</button>`
      }
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </section>`;
  }
  return html`<${StartRotation} apiKey=${apiKey} secrets=${secrets} busy=${busy} error=${error}
    onStart=${(body: { retire_secret_id: string; discard_secret_id?: string }) =>
      act(async () => {
        const started = await unwrap(
          api.POST('/v1/accounts/{apiKey}/rotations', { params: { path: { apiKey } }, body }),
        );
        setShown(started.secret ?? null);
      })} />`;
}

interface StartProps {
  apiKey: string;
  secrets: Secret[];
  busy: boolean;
  error: string | null;
  onStart: (body: { retire_secret_id: string; discard_secret_id?: string }) => void;
}

/** Which secret to retire (the oldest by default) and, with two, the other one's discard said plainly. */
function StartRotation({ apiKey, secrets, busy, error, onStart }: StartProps) {
  const oldest = [...secrets].sort((a, b) => a.created_at.localeCompare(b.created_at))[0];
  const [retire, setRetire] = useState(oldest?.id ?? '');
  const [discardOk, setDiscardOk] = useState(false);
  const other = secrets.find((s) => s.id !== retire);
  const minutes = other ? Math.floor((Date.now() - Date.parse(other.created_at)) / 60_000) : 0;
  const submit = (event: Event) => {
    event.preventDefault();
    if (retire) onStart({ retire_secret_id: retire, ...(other ? { discard_secret_id: other.id } : {}) });
  };
  return html`<form class="rotate" onSubmit=${submit}>
    <label>Secret to retire
      <select value=${retire} onChange=${(e: Event) => setRetire((e.target as HTMLSelectElement).value)}>
        ${secrets.map((s) => html`<option value=${s.id}>${s.id.slice(0, 8)}… created ${ago(s.created_at)}</option>`)}
      </select></label>
    ${
      other &&
      html`<label class="discard"><input type="checkbox" checked=${discardOk} onChange=${() => setDiscardOk(!discardOk)} />
      <span>Revoke <code>${other.id}</code> first to make room (Vonage allows 2 secrets). Nothing may still use it:
      cancelling the rotation later will not bring it back.${minutes < 60 ? html` <strong>It was created ${minutes} minutes ago: something may have only just started using it.</strong>` : ''}</span></label>`
    }
    <button type="submit" disabled=${busy || !retire || (other !== undefined && !discardOk)}>Rotate</button>
    <span class="hint" id=${`rotate-hint-${apiKey}`}>The gateway creates and tests a new secret; you switch consumers, then complete.</span>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}
