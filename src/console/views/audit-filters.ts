import { html } from 'htm/preact';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '../../audit/vocabulary.ts';

export const FILTER_NAMES = ['actor', 'action', 'api_key', 'outcome', 'since', 'until'] as const;
export type FilterName = (typeof FILTER_NAMES)[number];
// The server's own lists (a type-only module), so the console can never offer a filter the API refuses.
const ACTIONS = AUDIT_ACTIONS;
const OUTCOMES = AUDIT_OUTCOMES;

/** The filters as a plain form; applying them writes the URL, so a filtered view is a shareable link. */
export function AuditFilters({
  values,
  onApply,
}: {
  values: Partial<Record<FilterName, string>>;
  onApply: (q: URLSearchParams) => void;
}) {
  function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const query = new URLSearchParams();
    for (const name of FILTER_NAMES) {
      const value = String(form.get(name) ?? '').trim();
      if (value) query.set(name, value);
    }
    onApply(query);
  }
  const text = (name: FilterName, label: string, hint?: string) => html`<label>${label}
    <input name=${name} value=${values[name] ?? ''} placeholder=${hint} list=${name === 'since' || name === 'until' ? 'times' : undefined} /></label>`;
  return html`<form class="filters" onSubmit=${submit} aria-label="Filter the audit log">
    ${text('actor', 'Actor email', 'alice@example.com')}
    <label>Action <select name="action" value=${values.action ?? ''}>
      <option value="">any</option>${ACTIONS.map((a) => html`<option value=${a}>${a}</option>`)}
    </select></label>
    ${text('api_key', 'Account', 'sub00001')}
    <label>Outcome <select name="outcome" value=${values.outcome ?? ''}>
      <option value="">any</option>${OUTCOMES.map((o) => html`<option value=${o}>${o}</option>`)}
    </select></label>
    ${text('since', 'From', '7d, 24h or 2026-11-01T00:00:00Z')}
    ${text('until', 'Until', 'now')}
    <datalist id="times"><option value="1h" /><option value="24h" /><option value="7d" /><option value="30d" /><option value="90d" /></datalist>
    <button type="submit">Apply filters</button>
    <button type="button" onClick=${() => onApply(new URLSearchParams())}>Clear</button>
  </form>`;
}
