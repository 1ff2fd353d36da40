import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, describeProblem, type Secret, unwrap } from '../api.ts';
import { TypedConfirm } from './confirm.ts';
import { CreateSecret } from './create-secret.ts';
import { DeliveryPanel, delivering, loadConsumers } from './delivery.ts';
import { IN_PROGRESS, inProgress, loadRotations, type Rotation, RotationPanel } from './rotation.ts';
import { Failure, Loading, Reason } from './states.ts';
import { useLoad } from './use-load.ts';
import { When } from './when.ts';

const DAY_MS = 86_400_000;
const ageInDays = (createdAt: string) => Math.floor((Date.now() - Date.parse(createdAt)) / DAY_MS);

interface CardProps {
  apiKey: string;
  name: string | null;
  suspended: boolean;
  actions: string[];
  maxAgeDays: number;
  staleAfterHours: number;
  delivery: { delivery_enabled: boolean; delivery_url: string | null };
  /** Something changed at Vonage (the accounts page shows the new counts). */
  onChanged: () => void;
}

const SUSPENDED = 'the account is suspended at Vonage';

/** One account opened: its live secrets and rotations (the only Vonage reads), actions, and history. */
export function AccountCard(props: CardProps) {
  const { apiKey, actions, maxAgeDays, staleAfterHours } = props;
  const [notice, setNotice] = useState<string | null>(null);
  const [secrets, reloadSecrets] = useLoad(
    async () => (await unwrap(api.GET('/v1/accounts/{apiKey}/secrets', { params: { path: { apiKey } } }))).secrets,
    apiKey,
  );
  const [rotations, reloadRotations] = useLoad(() => loadRotations(apiKey), `rotations-${apiKey}`);
  const [consumers, reloadConsumers] = useLoad(() => loadConsumers(apiKey), `consumers-${apiKey}`);
  const changed = (message?: string) => {
    setNotice(message ?? null);
    reloadSecrets();
    reloadRotations();
    reloadConsumers();
    props.onChanged();
  };
  const open = inProgress(rotations);
  const consumer = delivering(consumers);
  // Its consumer finishes a delivery's rotation; once its token is revoked, a person may (the wizard shows it).
  const delivery = consumer && open?.started_by === `consumer:${consumer.name}` ? open : undefined;
  const title = props.name ? `Account ${apiKey} (${props.name})` : `Account ${apiKey}`;
  return html`<section class="account" aria-labelledby=${`account-${apiKey}`}>
    <h3 id=${`account-${apiKey}`}>${title}</h3>
    ${props.suspended && html`<p class="warning">Vonage has suspended this account: no secret can be created or rotated on it.</p>`}
    ${notice && html`<p class="notice" role="status">${notice}</p>`}
    ${secrets.state === 'loading' && html`<${Loading} what=${`the secrets of ${apiKey}`} />`}
    ${secrets.state === 'failed' && html`<${Failure} error=${secrets.error} retry=${() => changed()} />`}
    ${
      secrets.state === 'ready' &&
      html`
      <${SecretTable} apiKey=${apiKey} secrets=${secrets.value} canRevoke=${actions.includes('secrets:revoke')}
        maxAgeDays=${maxAgeDays} onRevoked=${(id: string) => changed(`Secret ${id} revoked.`)}
        roles=${rolesIn(open, delivery && consumer?.name)} />
      <${CreateSecret} apiKey=${apiKey} allowed=${actions.includes('secrets:create') && !props.suspended}
        why=${props.suspended ? SUSPENDED : undefined} secretCount=${secrets.value.length} onCreated=${() => changed()} />
      ${rotations.state === 'failed' && html`<${Failure} error=${rotations.error} retry=${reloadRotations} />`}
      ${
        delivery &&
        html`<p class="notice">A delivery to ${consumer?.name} awaits its cutover: the consumer's
        next delivery retires the secret it no longer holds. Nobody needs to complete it.</p>`
      }
      ${
        rotations.state === 'ready' &&
        !consumer &&
        html`<${RotationPanel} apiKey=${apiKey} secrets=${secrets.value} rotations=${rotations}
          staleAfterHours=${staleAfterHours} onChanged=${changed} why=${props.suspended ? SUSPENDED : undefined}
          allowed=${actions.includes('secrets:create') && actions.includes('secrets:revoke') && !props.suspended} />`
      }
      ${rotations.state === 'ready' && html`<${RotationHistory} apiKey=${apiKey} rotations=${rotations.value} />`}
      <${DeliveryPanel} apiKey=${apiKey} consumers=${consumers} canManage=${actions.includes('consumers:manage')}
        settings=${props.delivery} onChanged=${changed} />`
    }
  </section>`;
}

/** Past rotations: who started each, when, and how it ended. */
function RotationHistory({ apiKey, rotations }: { apiKey: string; rotations: Rotation[] }) {
  const past = rotations.filter((r) => !IN_PROGRESS.includes(r.state));
  if (past.length === 0) return html`<p class="hint">No past rotations of ${apiKey}.</p>`;
  return html`<details class="history"><summary>Rotation history (${past.length})</summary>
    <table><caption>Past rotations of ${apiKey}</caption>
      <thead><tr><th scope="col">Started</th><th scope="col">By</th><th scope="col">Outcome</th></tr></thead>
      <tbody>${past.map(
        (r) => html`<tr key=${r.id}><td><${When} iso=${r.started_at} /></td><td>${r.started_by}</td>
          <td><span class=${`outcome ${r.state === 'completed' ? 'success' : 'denied'}`}>${r.state}</span>${r.failure ? ` (${r.failure})` : ''}</td></tr>`,
      )}</tbody>
    </table></details>`;
}

type Role = { label: string; why: string; tone: 'new' | 'retiring' };

/** During a rotation: which secret is the new one and which it retires (a delivery's: which was delivered). */
function rolesIn(open: Rotation | undefined, consumer: string | undefined): Record<string, Role> {
  if (!open) return {};
  const why = consumer
    ? `delivered to ${consumer}: its next delivery retires the one it no longer holds`
    : 'held by the rotation in progress: complete or cancel it';
  const fresh = consumer ? `delivered to ${consumer}` : 'new (rotation)';
  return {
    [open.retire_secret_id]: { label: consumer ? 'retiring (delivery)' : 'retiring (rotation)', why, tone: 'retiring' },
    ...(open.new_secret ? { [open.new_secret.id]: { label: fresh, why, tone: 'new' } } : {}),
  };
}

interface TableProps {
  apiKey: string;
  secrets: Secret[];
  roles: Record<string, Role>;
  canRevoke: boolean;
  maxAgeDays: number;
  onRevoked: (secretId: string) => void;
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
          <td class="mono">${secret.id}${roles[secret.id] && html` <span class=${`role ${roles[secret.id]?.tone}`}>${roles[secret.id]?.label}</span>`}</td>
          <td><${When} iso=${secret.created_at} /></td>
          <td>${age} days ${age > maxAgeDays && html`<span class="overdue">overdue</span>`}</td>
          <td>${
            confirming === secret.id
              ? html`<${ConfirmRevoke} apiKey=${apiKey} secretId=${secret.id} onDone=${() => {
                  setConfirming(null);
                  onRevoked(secret.id);
                }}
                  onCancel=${() => setConfirming(null)} />`
              : html`<${RevokeButton} apiKey=${apiKey} secretId=${secret.id} allowed=${canRevoke} last=${secrets.length === 1}
                  held=${roles[secret.id]?.why} onClick=${() => setConfirming(secret.id)} />`
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
  /** Held by the rotation in progress (or a delivery): why it cannot be revoked by hand. */
  held: string | undefined;
  onClick: () => void;
}) {
  const reason = !props.allowed
    ? `needs secrets:revoke on ${props.apiKey}`
    : props.last
      ? 'Vonage never revokes the last secret'
      : (props.held ?? null);
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
