import { html } from 'htm/preact';
import { describeProblem, isRetryable } from '../api.ts';

/** Loading, empty and error states, designed rather than blank; each says what to do next. */

export const Loading = ({ what }: { what: string }) => html`<p class="state" role="status">Loading ${what}…</p>`;

export const Empty = ({ title, children }: { title: string; children?: unknown }) =>
  html`<div class="state empty" role="status"><h3>${title}</h3>${children}</div>`;

/** "Try again" only where a second try can work (a limit, an outage, no connection), never for a refusal. */
export function Failure({ error, retry }: { error: unknown; retry?: () => void }) {
  return html`<div class="state failure" role="alert">
    <p>${describeProblem(error)}</p>
    ${retry && isRetryable(error) && html`<button type="button" onClick=${retry}>Try again</button>`}
  </div>`;
}

/** A disabled action always says why, and what to ask for. */
export const Reason = ({ id, text }: { id: string; text: string }) =>
  html`<span class="reason" id=${id}>${text}</span>`;
