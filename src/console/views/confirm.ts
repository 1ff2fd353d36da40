import { html } from 'htm/preact';
import { useState } from 'preact/hooks';

/** Shows a value once, with a Copy button that says when it worked. */
export function ShownOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(value);
    setCopied(true);
  };
  return html`<label>${label} <input readonly value=${value} class="mono" size="28" /></label>
    <button type="button" onClick=${copy}>Copy</button>
    <span role="status" class="copied">${copied ? 'Copied to the clipboard.' : ''}</span>`;
}

interface TypedProps {
  /** What the user must type: the first eight characters of the secret the action revokes. */
  secretId: string;
  /** What the action does, said in the label: "revoke this secret", "complete and revoke …". */
  what: string;
  button: string;
  onConfirm: () => Promise<void> | void;
  onCancel: () => void;
}

/** An action that revokes a secret is confirmed by naming it: the first eight characters of its id, typed. */
export function TypedConfirm({ secretId, what, button, onConfirm, onCancel }: TypedProps) {
  const [typed, setTyped] = useState('');
  const expected = secretId.slice(0, 8);
  const submit = (event: Event) => {
    event.preventDefault();
    void onConfirm();
  };
  return html`<form class="confirm" onSubmit=${submit}>
    <label>Type <code>${expected}</code> to ${what}
      <input value=${typed} autocomplete="off" onInput=${(e: Event) => setTyped((e.target as HTMLInputElement).value)} /></label>
    <button type="submit" class="danger" disabled=${typed !== expected}>${button}</button>
    <button type="button" onClick=${onCancel}>Cancel</button>
  </form>`;
}
