import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, describeProblem, unwrap } from '../api.ts';
import { generateSecret, SECRET_RULE, SECRET_RULE_TEXT } from '../../vonage/secret-rules.ts';
import { ShownOnce } from './confirm.ts';
import { Reason } from './states.ts';

interface Props {
  apiKey: string;
  allowed: boolean;
  /** Why not, when not allowed (default: the action to ask for). */
  why?: string;
  secretCount: number;
  onCreated: () => void;
}

/** Create: a generated secret by default, shown exactly once, with a copy button. */
export function CreateSecret({ apiKey, allowed, why, secretCount, onCreated }: Props) {
  const [open, setOpen] = useState(false);
  const [mode, setMode] = useState<'generate' | 'own'>('generate');
  const [own, setOwn] = useState('');
  const [shown, setShown] = useState<{ id: string; value: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reasonId = `create-reason-${apiKey}`;
  const ownInvalid = mode === 'own' && own !== '' && !SECRET_RULE.test(own);

  async function submit(event: Event) {
    event.preventDefault();
    const value = mode === 'generate' ? generateSecret() : own;
    if (!SECRET_RULE.test(value)) return setError(`The secret must be ${SECRET_RULE_TEXT}.`);
    setBusy(true);
    setError(null);
    try {
      const created = await unwrap(
        api.POST('/v1/accounts/{apiKey}/secrets', {
          params: { path: { apiKey }, header: { 'Idempotency-Key': crypto.randomUUID() } },
          body: { secret: value },
        }),
      );
      setShown({ id: created.id, value });
      setOwn('');
      onCreated();
    } catch (problem) {
      setError(describeProblem(problem));
    } finally {
      setBusy(false);
    }
  }

  function done() {
    setShown(null);
    setOpen(false);
  }

  function cancel() {
    setOpen(false);
    setError(null);
  }

  if (shown) {
    return html`<section class="new-secret" aria-labelledby=${`new-${apiKey}`}>
      <h4 id=${`new-${apiKey}`}>New secret ${shown.id} created</h4>
      <p class="warning">Copy it now. It will not be shown again, and the gateway does not keep it.</p>
      <${ShownOnce} label="Secret value" value=${shown.value} />
      <button type="button" onClick=${done}>Done</button>
    </section>`;
  }
  if (!open) {
    return html`<p>
      <button type="button" disabled=${!allowed} aria-describedby=${allowed ? undefined : reasonId} onClick=${() => setOpen(true)}>
        Create a secret
      </button>
      ${!allowed && html`<${Reason} id=${reasonId} text=${why ?? `needs secrets:create on ${apiKey}`} />`}
      ${allowed && secretCount >= 2 && html`<span class="hint">This account already has 2 secrets: Vonage will refuse a third until one is revoked.</span>`}
    </p>`;
  }
  return html`<form class="create" onSubmit=${submit} aria-label=${`Create a secret on ${apiKey}`}>
    <fieldset>
      <legend>New secret for ${apiKey}</legend>
      <label><input type="radio" name=${`mode-${apiKey}`} checked=${mode === 'generate'} onChange=${() => setMode('generate')} />
        Generate a strong secret (recommended)</label>
      <label><input type="radio" name=${`mode-${apiKey}`} checked=${mode === 'own'} onChange=${() => setMode('own')} />
        Type my own</label>
      ${
        mode === 'own' &&
        html`<label>Secret <input type="password" autocomplete="new-password" value=${own}
        aria-invalid=${ownInvalid} aria-describedby=${`rule-${apiKey}`} onInput=${(e: Event) => setOwn((e.target as HTMLInputElement).value)} /></label>`
      }
      <p class="hint" id=${`rule-${apiKey}`}>${SECRET_RULE_TEXT}.</p>
    </fieldset>
    <button type="submit" disabled=${busy || ownInvalid}>${busy ? 'Creating…' : 'Create'}</button>
    <button type="button" onClick=${cancel}>Cancel</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}
