import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, type Consumer, describeProblem, unwrap } from '../api.ts';
import { ShownOnce } from './confirm.ts';
import { consumerManifest } from './delivery-manifest.ts';
import { Failure, Loading, Reason } from './states.ts';
import type { Loaded } from './use-load.ts';
import { When } from './when.ts';

export const loadConsumers = async (apiKey: string) =>
  (await unwrap(api.GET('/v1/accounts/{apiKey}/consumers', { params: { path: { apiKey } } }))).consumers;

/** The account's consumer whose token is not revoked (an expired one included: re-issuing brings it back). */
export const delivering = (consumers: Loaded<Consumer[]>) =>
  consumers.state === 'ready' ? consumers.value.find((c) => c.delivery !== 'revoked') : undefined;

interface Props {
  apiKey: string;
  consumers: Loaded<Consumer[]>;
  canManage: boolean;
  settings: { delivery_enabled: boolean; delivery_url: string | null };
  onChanged: (message?: string) => void;
}

/** The contract's ConsumerName, as an HTML pattern (compiled with the v flag, so `-` is escaped in a class). */
const NAME_PATTERN = '[a-z0-9]([a-z0-9\\-]{0,61}[a-z0-9])?';

const days = (seconds: number) => `${Math.round(seconds / 86_400)} days`;

/**
 * Delivery to workloads: a consumer registered once (its token shown once, with the manifests to apply),
 * then External Secrets Operator rotates on its own. Shows the last delivery, an overdue mark, and the
 * token's expiry, with re-issue and revoke.
 */
export function DeliveryPanel({ apiKey, consumers, canManage, settings, onChanged }: Props) {
  const [issued, setIssued] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (work: () => Promise<{ name: string; token?: string }>, said: string) => {
    setError(null);
    try {
      const result = await work();
      setIssued(result.token ? { name: result.name, token: result.token } : null);
      onChanged(said);
    } catch (problem) {
      setError(describeProblem(problem));
    }
  };
  const path = (name: string) => ({ params: { path: { apiKey, name } } });
  const reissue = (name: string) =>
    act(() => unwrap(api.POST('/v1/accounts/{apiKey}/consumers/{name}/token', path(name))), 'A new token was issued.');
  const revoke = (name: string) =>
    act(
      () => unwrap(api.DELETE('/v1/accounts/{apiKey}/consumers/{name}/token', path(name))),
      `Delivery to ${name} is off: its token no longer works.`,
    );
  const on = delivering(consumers);
  return html`<section class="delivery" aria-labelledby=${`delivery-${apiKey}`}>
    <h4 id=${`delivery-${apiKey}`}>Delivery to workloads</h4>
    ${!settings.delivery_enabled && html`<p class="hint">Delivery is off on this gateway (DELIVERY_TOKEN_HMAC_KEY is not set).</p>`}
    ${consumers.state === 'loading' && html`<${Loading} what="the consumers" />`}
    ${consumers.state === 'failed' && html`<${Failure} error=${consumers.error} />`}
    ${on && html`<${Delivering} consumer=${on} canManage=${canManage} onReissue=${reissue} onRevoke=${revoke} />`}
    ${issued && html`<${Issued} name=${issued.name} token=${issued.token} url=${settings.delivery_url} onDone=${() => setIssued(null)} />`}
    ${
      consumers.state === 'ready' &&
      !on &&
      !issued &&
      settings.delivery_enabled &&
      html`<${Register} apiKey=${apiKey} canManage=${canManage}
        onRegister=${(name: string) =>
          act(
            () => unwrap(api.POST('/v1/accounts/{apiKey}/consumers', { params: { path: { apiKey } }, body: { name } })),
            `${name} registered.`,
          )} />`
    }
    ${consumers.state === 'ready' && html`<${PastConsumers} consumers=${consumers.value.filter((c) => c !== on)} />`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

interface DeliveringProps {
  consumer: Consumer;
  canManage: boolean;
  onReissue: (name: string) => void;
  onRevoke: (name: string) => void;
}

function Delivering({ consumer: c, canManage, onReissue, onRevoke }: DeliveringProps) {
  const [confirming, setConfirming] = useState(false);
  return html`${
    c.delivery === 'expired' &&
    html`<p class="warning">${c.name}'s token has expired: its deliveries are
      refused until a new token is issued.</p>`
  }
    <p class="notice">Secrets of this account rotate automatically: External Secrets Operator delivers a new
      one to <strong>${c.name}</strong> every ${days(c.interval_seconds)}, and nobody holds it.</p>
    <dl class="facts">
      <dt>Last delivery</dt>
      <dd>${c.last_delivery ? html`<${When} iso=${c.last_delivery.at} /> (<code>${c.last_delivery.secret_id.slice(0, 8)}…</code>)` : 'none yet'}
        ${c.overdue && html` <span class="overdue">overdue</span>`}</dd>
      <dt>Consumer holds</dt><dd>${c.held ? html`<code>${c.held.secret_id.slice(0, 8)}…</code>` : 'none yet'}</dd>
      <dt>Token expires</dt><dd><${When} iso=${c.token_expires_at} /></dd>
    </dl>
    ${
      confirming
        ? html`<p class="confirm">Revoke ${c.name}'s token? Deliveries stop until a new token is issued.
            <button type="button" class="danger" onClick=${() => onRevoke(c.name)}>Revoke token</button>
            <button type="button" onClick=${() => setConfirming(false)}>Keep it</button></p>`
        : html`<p><button type="button" disabled=${!canManage} onClick=${() => onReissue(c.name)}>Re-issue token</button>
            <button type="button" disabled=${!canManage} onClick=${() => setConfirming(true)}>Revoke token</button>
            ${!canManage && html`<${Reason} id=${`manage-${c.name}`} text=${`needs consumers:manage on ${c.api_key}`} />`}</p>`
    }`;
}

function Issued({ name, token, url, onDone }: { name: string; token: string; url: string | null; onDone: () => void }) {
  const manifest = consumerManifest(name, url);
  return html`<div class="new-secret">
    <p class="warning">The delivery token is shown once. Put it in the Secret <code>${name}-vonage-token</code>
      (key <code>token</code>) where the workload's secrets are kept, then apply the manifests below in its namespace.</p>
    <p><${ShownOnce} label="Delivery token" value=${token} /></p>
    <label for=${`manifest-${name}`}>Manifests for ${name} (no token in them)</label>
    <textarea id=${`manifest-${name}`} class="manifest mono" readonly rows="12">${manifest}</textarea>
    <p><button type="button" onClick=${onDone}>Done</button></p>
  </div>`;
}

function Register({
  apiKey,
  canManage,
  onRegister,
}: {
  apiKey: string;
  canManage: boolean;
  onRegister: (name: string) => void;
}) {
  const [name, setName] = useState('');
  const submit = (event: Event) => {
    event.preventDefault();
    onRegister(name);
  };
  if (!canManage)
    return html`<p class="hint">No consumer receives this account's credentials. Registering one needs consumers:manage on
      ${apiKey}.</p>`;
  return html`<form class="register" onSubmit=${submit}>
    <label>Consumer name <input value=${name} pattern=${NAME_PATTERN} required placeholder="payments-api"
      onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} /></label>
    <button type="submit">Register consumer</button>
    <span class="hint">The workload that receives ${apiKey}'s credentials, delivered by External Secrets Operator.</span>
  </form>`;
}

function PastConsumers({ consumers }: { consumers: Consumer[] }) {
  if (consumers.length === 0) return null;
  return html`<p class="hint">Earlier consumers: ${consumers.map((c) => `${c.name} (${c.delivery})`).join(', ')}.</p>`;
}
