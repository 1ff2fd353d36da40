import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type AccountSummary, api, type Me, unwrap } from '../api.ts';
import { AccountCard } from './secrets.ts';
import { Empty, Failure, Loading } from './states.ts';
import { useLoad } from './use-load.ts';
import { When } from './when.ts';

/**
 * The estate, a page at a time: one GET /v1/accounts per page, whatever the number of accounts. The
 * search, filters, page and open account live in the URL (#/accounts?q=…&open=…), so a view is a link.
 * A row opens to the account's panel, which alone asks Vonage (its live secrets and rotations).
 */
const PAGE_SIZE = 25;
const FILTERS = ['q', 'overdue', 'suspended', 'sort'] as const;

export function AccountsPage({ me, params }: { me: Me; params: URLSearchParams }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const filter = new URLSearchParams(
    FILTERS.flatMap((name) => (params.get(name) ? [[name, params.get(name) ?? '']] : [])),
  );
  const key = `${filter}|${cursors.at(-1) ?? ''}`;
  const [page, reload] = useLoad(() => loadPage(filter, cursors.at(-1)), key);
  const go = (next: URLSearchParams) => {
    setCursors([]);
    window.location.hash = `#/accounts?${next}`;
  };
  if (me.accounts.length === 0) return html`<${NoAccess} me=${me} />`;
  return html`<h2>Accounts</h2>
    <aside class="rules" aria-label="Vonage's rules">
      Vonage allows at most <strong>2 secrets</strong> per account and never revokes the <strong>last one</strong>.
      To rotate: create the new secret, move every consumer to it, then revoke the old one.
      Secrets older than ${me.settings.secret_max_age_days} days are overdue.
    </aside>
    <${SearchForm} filter=${filter} onApply=${go} />
    ${page.state === 'loading' && html`<${Loading} what="the accounts" />`}
    ${page.state === 'failed' && html`<${Failure} error=${page.error} retry=${reload} />`}
    ${
      page.state === 'ready' &&
      html`<${AccountRows} page=${page.value} me=${me} open=${params.get('open')} filter=${filter} onChanged=${reload}
        pageNumber=${cursors.length + 1} />
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>
        <button type="button" disabled=${!page.value.next_cursor} onClick=${() => setCursors([...cursors, page.value.next_cursor ?? ''])}>Next page</button>
      </nav>`
    }`;
}

async function loadPage(filter: URLSearchParams, cursor: string | undefined) {
  const query = {
    q: filter.get('q') ?? undefined,
    overdue: filter.get('overdue') === 'true' ? true : undefined,
    suspended: filter.has('suspended') ? filter.get('suspended') === 'true' : undefined,
    sort: filter.get('sort') === 'oldest_secret' ? ('oldest_secret' as const) : undefined,
    limit: PAGE_SIZE,
    cursor,
  };
  return unwrap(api.GET('/v1/accounts', { params: { query } }));
}

function SearchForm({ filter, onApply }: { filter: URLSearchParams; onApply: (q: URLSearchParams) => void }) {
  function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const next = new URLSearchParams();
    const q = String(form.get('q') ?? '').trim();
    if (q) next.set('q', q);
    if (form.get('overdue')) next.set('overdue', 'true');
    const status = String(form.get('suspended') ?? '');
    if (status) next.set('suspended', status);
    if (form.get('sort') === 'oldest_secret') next.set('sort', 'oldest_secret');
    onApply(next);
  }
  return html`<form class="filters" role="search" aria-label="Find accounts" onSubmit=${submit}>
    <label>Search <input type="search" name="q" value=${filter.get('q') ?? ''} placeholder="name or api key" maxlength="100" /></label>
    <label class="check"><input type="checkbox" name="overdue" checked=${filter.get('overdue') === 'true'} /> Overdue only</label>
    <label>Status <select name="suspended" value=${filter.get('suspended') ?? ''}>
      <option value="">all</option><option value="false">active</option><option value="true">suspended</option>
    </select></label>
    <label>Sort <select name="sort" value=${filter.get('sort') ?? 'name'}>
      <option value="name">by name</option><option value="oldest_secret">oldest secret first</option>
    </select></label>
    <button type="submit">Search</button>
  </form>`;
}

interface RowsProps {
  page: { accounts: AccountSummary[]; as_of: string | null };
  me: Me;
  open: string | null;
  filter: URLSearchParams;
  pageNumber: number;
  onChanged: () => void;
}

function AccountRows({ page, me, open, filter, pageNumber, onChanged }: RowsProps) {
  const toggle = (apiKey: string) => {
    const next = new URLSearchParams(filter);
    if (open !== apiKey) next.set('open', apiKey);
    window.location.hash = `#/accounts?${next}`;
  };
  if (page.accounts.length === 0)
    return html`<${Empty} title="No account matches"><p>Clear the search or the filters.</p></${Empty}>`;
  const refreshed = page.as_of
    ? html`Estate refreshed <${When} iso=${page.as_of} />.`
    : 'The estate has not been refreshed yet.';
  return html`<p class="hint">${refreshed}</p>
    <table class="accounts">
      <caption>Accounts, page ${pageNumber}</caption>
      <thead><tr>
        <th scope="col">Account</th><th scope="col">Secrets</th><th scope="col">Oldest secret</th>
        <th scope="col">Rotation</th><th scope="col"><span class="visually-hidden">Open</span></th>
      </tr></thead>
      <tbody>${page.accounts.map(
        (account) => html`<${AccountRow} key=${account.api_key} account=${account} me=${me}
        open=${open === account.api_key} onToggle=${() => toggle(account.api_key)} onChanged=${onChanged} />`,
      )}</tbody>
    </table>`;
}

function AccountRow(props: {
  account: AccountSummary;
  me: Me;
  open: boolean;
  onToggle: () => void;
  onChanged: () => void;
}) {
  const { account, me, open } = props;
  const label = account.name ?? account.api_key;
  return html`<tr class=${account.suspended ? 'suspended' : undefined}>
      <th scope="row"><span class="name">${label}</span>${account.name && html` <span class="mono key">${account.api_key}</span>`}
        ${account.suspended && html` <span class="badge broken">suspended</span>`}</th>
      <td data-label="Secrets">${account.secrets ? account.secrets.count : html`<span class="hint">not listed yet</span>`}</td>
      <td data-label="Oldest secret">${
        account.secrets?.oldest_created_at
          ? html`<${When} iso=${account.secrets.oldest_created_at} />${account.secrets.overdue && html` <span class="overdue">overdue</span>`}`
          : '–'
      }</td>
      <td data-label="Rotation">${account.rotation ? html`<span class="role new">${account.rotation.state.replace('_', ' ')}</span>` : 'none'}</td>
      <td><button type="button" aria-expanded=${open} onClick=${props.onToggle}>${open ? 'Close' : 'Open'}<span class="visually-hidden"> ${label}${account.name ? ` ${account.api_key}` : ''}</span></button></td>
    </tr>
    ${
      open &&
      html`<tr class="panel"><td colspan="5"><${AccountCard} apiKey=${account.api_key} name=${account.name}
        suspended=${account.suspended} actions=${account.actions} maxAgeDays=${me.settings.secret_max_age_days}
        staleAfterHours=${me.settings.rotation_stale_after_hours} delivery=${me.settings} onChanged=${props.onChanged} /></td></tr>`
    }`;
}

function NoAccess({ me }: { me: Me }) {
  return html`<${Empty} title="You have no access to any Vonage account yet">
    <p>Ask the platform team that owns the gateway's access policy for <code>secrets:read</code> on the account you
      need. Tell them you are <strong>${me.email}</strong>${me.groups.length > 0 && html` in ${me.groups.join(', ')}`}.</p>
  </${Empty}>`;
}
