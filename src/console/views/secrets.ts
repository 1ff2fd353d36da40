import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, describeProblem, type Me, type Secret, unwrap } from '../api.ts';
import { TypedConfirm } from './confirm.ts';
import { CreateSecret } from './create-secret.ts';
import { inProgress, loadRotations, RotationPanel } from './rotation.ts';
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
  const [secrets, reloadSecrets] = useLoad(
    async () => (await unwrap(api.GET('/v1/accounts/{apiKey}/secrets', { params: { path: { apiKey } } }))).secrets,
    apiKey,
  );
  const [rotations, reloadRotations] = useLoad(() => loadRotations(apiKey), `rotations-${apiKey}`);
  const reload = () => {
    reloadSecrets();
    reloadRotations();
  };
  const open = inProgress(rotations);
  return html`<section class="account" aria-labelledby=${`account-${apiKey}`}>
    <h3 id=${`account-${apiKey}`}>Account ${apiKey}</h3>
    ${secrets.state === 'loading' && html`<${Loading} what=${`the secrets of ${apiKey}`} />`}
    ${secrets.state === 'failed' && html`<${Failure} error=${secrets.error} retry=${reload} />`}
    ${
      secrets.state === 'ready' &&
      html`
      <${SecretTable} apiKey=${apiKey} secrets=${secrets.value} canRevoke=${actions.includes('secrets:revoke')}
        maxAgeDays=${maxAgeDays} onRevoked=${reload}
        roles=${open ? { [open.retire_secret_id]: 'retiring', ...(open.new_secret ? { [open.new_secret.id]: 'new' } : {}) } : {}} />
      <${CreateSecret} apiKey=${apiKey} allowed=${actions.includes('secrets:create')} secretCount=${secrets.value.length}
        onCreated=${reload} />
      ${rotations.state === 'failed' && html`<${Failure} error=${rotations.error} retry=${reloadRotations} />`}
      ${
        rotations.state === 'ready' &&
        html`<${RotationPanel} apiKey=${apiKey} secrets=${secrets.value} rotations=${rotations}
          staleAfterHours=${staleAfterHours} onChanged=${reload}
          allowed=${actions.includes('secrets:create') && actions.includes('secrets:revoke')} />`
      }`
    }
  </section>`;
}

interface TableProps {
  apiKey: string;
  secrets: Secret[];
  /** During a rotation: which secret is the new one and which it retires. */
  roles: Record<string, 'new' | 'retiring'>;
  canRevoke: boolean;
  maxAgeDays: number;
  onRevoked: () => void;
}

function SecretTable({ apiKey, secrets, roles, canRevoke, maxAgeDays, onRevoked }: TableProps) {
  const [confirming, setConfirming] = useState<string | null>(null);
  return html`<table>
    <caption>Secrets of ${apiKey}</caption>
    <thead><tr><th scope="col">Secret id</th><th scope="col">Created</th><th scope="col">Age</th><th scope="col">Action</th></tr></thead>
    <tbody>
      ${secrets.map((secret) => {
        const age = ageInDays(secret.created_at);
        return html`<tr key=${secret.id}>
          <td class="mono">${secret.id}${roles[secret.id] && html` <span class=${`role ${roles[secret.id]}`}>${roles[secret.id] === 'new' ? 'new (rotation)' : 'retiring (rotation)'}</span>`}</td>
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
                  held=${roles[secret.id] !== undefined} onClick=${() => setConfirming(secret.id)} />`
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
  /** Held by the rotation in progress: complete or cancel it instead. */
  held: boolean;
  onClick: () => void;
}) {
  const reason = !props.allowed
    ? `needs secrets:revoke on ${props.apiKey}`
    : props.last
      ? 'Vonage never revokes the last secret'
      : props.held
        ? 'held by the rotation in progress: complete or cancel it'
        : null;
  const id = `revoke-reason-${props.secretId}`;
  return html`<button type="button" disabled=${reason !== null} aria-describedby=${reason ? id : undefined} onClick=${props.onClick}>
      Revoke<span class="visually-hidden"> ${props.secretId}</span></button>
    ${reason && html`<${Reason} id=${id} text=${reason} />`}`;
}

/** Confirmation by naming the secret: its first eight characters, typed. */
function ConfirmRevoke(props: { apiKey: string; secretId: string; onDone: () => void; onCancel: () => void }) {
  const [error, setError] = useState<string | null>(null);
  async function revoke() {
    try {
      const path = { apiKey: props.apiKey, secretId: props.secretId };
      await unwrap(api.DELETE('/v1/accounts/{apiKey}/secrets/{secretId}', { params: { path } }));
      props.onDone();
    } catch (problem) {
      setError(describeProblem(problem));
    }
  }
  return html`<${TypedConfirm} secretId=${props.secretId} what="revoke this secret" button="Revoke" onConfirm=${revoke}
      onCancel=${props.onCancel} />
    ${error && html`<p class="error" role="alert">${error}</p>`}`;
}
