import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, describeProblem, type Me, type Secret, unwrap } from '../api.ts';
import { CreateSecret } from './create-secret.ts';
import { RotationPanel } from './rotation.ts';
import { Empty, Failure, Loading, Reason } from './states.ts';
import { useLoad } from './use-load.ts';

const DAY_MS = 86_400_000;
const ageInDays = (createdAt: string) => Math.floor((Date.now() - Date.parse(createdAt)) / DAY_MS);

export function SecretsPage({ me }: { me: Me }) {
  if (me.accounts.length === 0) {
    return html`<${Empty} title="You have no access to any Vonage account yet">
      <p>Ask the platform team that owns the gateway's access policy for <code>secrets:read</code> on the account you
        need. Tell them you are <strong>${me.email}</strong>${me.groups.length > 0 && html` in ${me.groups.join(', ')}`}.</p>
    </${Empty}>`;
  }
  return html`<h2>Secrets</h2>
    <aside class="rules" aria-label="Vonage's rules">
      Vonage allows at most <strong>2 secrets</strong> per account and never revokes the <strong>last one</strong>.
      To rotate: create the new secret, move every consumer to it, then revoke the old one.
      Secrets older than ${me.settings.secret_max_age_days} days are overdue.
    </aside>
    ${me.accounts.map(
      (account) => html`<${AccountCard} key=${account.api_key} apiKey=${account.api_key} actions=${account.actions}
      maxAgeDays=${me.settings.secret_max_age_days} staleAfterHours=${me.settings.rotation_stale_after_hours} />`,
    )}`;
}

function AccountCard(props: { apiKey: string; actions: string[]; maxAgeDays: number; staleAfterHours: number }) {
  const { apiKey, actions, maxAgeDays, staleAfterHours } = props;
  const [secrets, reload] = useLoad(
    async () => (await unwrap(api.GET('/v1/accounts/{apiKey}/secrets', { params: { path: { apiKey } } }))).secrets,
    apiKey,
  );
  return html`<section class="account" aria-labelledby=${`account-${apiKey}`}>
    <h3 id=${`account-${apiKey}`}>Account ${apiKey}</h3>
    ${secrets.state === 'loading' && html`<${Loading} what=${`the secrets of ${apiKey}`} />`}
    ${secrets.state === 'failed' && html`<${Failure} error=${secrets.error} retry=${reload} />`}
    ${
      secrets.state === 'ready' &&
      html`
      <${SecretTable} apiKey=${apiKey} secrets=${secrets.value} canRevoke=${actions.includes('secrets:revoke')}
        maxAgeDays=${maxAgeDays} onRevoked=${reload} />
      <${CreateSecret} apiKey=${apiKey} allowed=${actions.includes('secrets:create')} secretCount=${secrets.value.length}
        onCreated=${reload} />
      <${RotationPanel} apiKey=${apiKey} secrets=${secrets.value} staleAfterHours=${staleAfterHours} onChanged=${reload}
        allowed=${actions.includes('secrets:create') && actions.includes('secrets:revoke')} />`
    }
  </section>`;
}

interface TableProps {
  apiKey: string;
  secrets: Secret[];
  canRevoke: boolean;
  maxAgeDays: number;
  onRevoked: () => void;
}

function SecretTable({ apiKey, secrets, canRevoke, maxAgeDays, onRevoked }: TableProps) {
  const [confirming, setConfirming] = useState<string | null>(null);
  return html`<table>
    <caption>Secrets of ${apiKey}</caption>
    <thead><tr><th scope="col">Secret id</th><th scope="col">Created</th><th scope="col">Age</th><th scope="col">Action</th></tr></thead>
    <tbody>
      ${secrets.map((secret) => {
        const age = ageInDays(secret.created_at);
        return html`<tr key=${secret.id}>
          <td class="mono">${secret.id}</td>
          <td>${secret.created_at}</td>
          <td>${age} days ${age > maxAgeDays && html`<span class="overdue">overdue</span>`}</td>
          <td>${
            confirming === secret.id
              ? html`<${ConfirmRevoke} apiKey=${apiKey} secretId=${secret.id} onDone=${() => {
                  setConfirming(null);
                  onRevoked();
                }}
                  onCancel=${() => setConfirming(null)} />`
              : html`<${RevokeButton} apiKey=${apiKey} secretId=${secret.id} allowed=${canRevoke} last=${secrets.length === 1}
                  onClick=${() => setConfirming(secret.id)} />`
          }</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function RevokeButton(props: {
  apiKey: string;
  secretId: string;
  allowed: boolean;
  last: boolean;
  onClick: () => void;
}) {
  const reason = !props.allowed
    ? `needs secrets:revoke on ${props.apiKey}`
    : props.last
      ? 'Vonage never revokes the last secret'
      : null;
  const id = `revoke-reason-${props.secretId}`;
  return html`<button type="button" disabled=${reason !== null} aria-describedby=${reason ? id : undefined} onClick=${props.onClick}>
      Revoke<span class="visually-hidden"> ${props.secretId}</span></button>
    ${reason && html`<${Reason} id=${id} text=${reason} />`}`;
}

/** Confirmation by naming the secret: its first eight characters, typed. */
function ConfirmRevoke(props: { apiKey: string; secretId: string; onDone: () => void; onCancel: () => void }) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | null>(null);
  const expected = props.secretId.slice(0, 8);
  async function revoke(event: Event) {
    event.preventDefault();
    try {
      const path = { apiKey: props.apiKey, secretId: props.secretId };
      await unwrap(api.DELETE('/v1/accounts/{apiKey}/secrets/{secretId}', { params: { path } }));
      props.onDone();
    } catch (problem) {
      setError(describeProblem(problem));
    }
  }
  return html`<form class="confirm" onSubmit=${revoke}>
    <label>Type <code>${expected}</code> to revoke this secret
      <input value=${typed} autocomplete="off" onInput=${(e: Event) => setTyped((e.target as HTMLInputElement).value)} /></label>
    <button type="submit" class="danger" disabled=${typed !== expected}>Revoke</button>
    <button type="button" onClick=${props.onCancel}>Cancel</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}
