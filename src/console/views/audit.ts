import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type AuditEvent, api, unwrap } from '../api.ts';
import { AuditFilters, FILTER_NAMES, type FilterName } from './audit-filters.ts';
import { ChainBadge } from './chain-badge.ts';
import { Empty, Failure, Loading } from './states.ts';
import { useLoad } from './use-load.ts';

/** The audit log for reviewers: filters kept in the URL, a paged table, one event's detail, downloads. */
export function AuditPage({ params }: { params: URLSearchParams }) {
  const filters = Object.fromEntries(
    FILTER_NAMES.flatMap((name) => (params.get(name) ? [[name, params.get(name)]] : [])),
  ) as Partial<Record<FilterName, string>>;
  const cursor = params.get('cursor') ?? undefined;
  const [page, reload] = useLoad(
    () => unwrap(api.GET('/v1/audit-events', { params: { query: { ...filters, cursor, limit: 25 } as never } })),
    params.toString(),
  );
  const exportQuery = new URLSearchParams(filters as Record<string, string>);
  const result = page.state === 'ready' && typeof page.value !== 'string' ? page.value : null;
  const go = (next: URLSearchParams) => {
    window.location.hash = `#/audit?${next.toString()}`;
  };
  return html`<h2>Audit log</h2>
    <${ChainBadge} />
    <${AuditFilters} values=${filters} onApply=${(next: URLSearchParams) => go(next)} />
    <p class="downloads">Download exactly this filtered set:
      <a href=${`/v1/audit-events?format=csv&${exportQuery}`}>CSV</a>
      <a href=${`/v1/audit-events?format=ndjson&${exportQuery}`}>NDJSON</a></p>
    ${page.state === 'loading' && html`<${Loading} what="audit events" />`}
    ${page.state === 'failed' && html`<${Failure} error=${page.error} retry=${reload} />`}
    ${
      result &&
      html`
      ${
        result.events.length === 0
          ? html`<${Empty} title="No events match these filters"><p>Widen the time range or clear a filter.</p></${Empty}>`
          : html`<${EventTable} events=${result.events} />`
      }
      <nav class="pager" aria-label="Pages">
        ${cursor && html`<button type="button" onClick=${() => go(new URLSearchParams(exportQuery))}>Newest</button>`}
        ${
          result.next_cursor &&
          html`<button type="button"
          onClick=${() => go(new URLSearchParams({ ...filters, cursor: result.next_cursor } as Record<string, string>))}>Older</button>`
        }
      </nav>`
    }`;
}

function EventTable({ events }: { events: AuditEvent[] }) {
  const [open, setOpen] = useState<string | null>(null);
  return html`<table class="events">
    <caption>Audit events, newest first</caption>
    <thead><tr><th scope="col">Time (UTC)</th><th scope="col">Actor</th><th scope="col">Action</th><th scope="col">Account</th>
      <th scope="col">Outcome</th><th scope="col">Details</th></tr></thead>
    <tbody>${events.map(
      (event) => html`
      <tr key=${event.id}>
        <td>${event.occurred_at.replace('T', ' ').replace(/\.\d+Z$/, '')}</td>
        <td>${event.actor.email}</td><td>${event.action}</td><td>${event.api_key ?? '(invalid)'}</td>
        <td><span class=${`outcome ${event.outcome}`}>${event.outcome}</span> ${event.status ?? ''}</td>
        <td><button type="button" aria-expanded=${open === event.id} onClick=${() => setOpen(open === event.id ? null : event.id)}>
          ${open === event.id ? 'Hide' : 'Show'}<span class="visually-hidden"> event ${event.id}</span></button></td>
      </tr>
      ${open === event.id && html`<tr class="detail"><td colspan="6"><${EventDetail} event=${event} /></td></tr>`}`,
    )}
    </tbody>
  </table>`;
}

function EventDetail({ event }: { event: AuditEvent }) {
  const rows: Array<[string, string]> = [
    ['Event id', event.id],
    ['Request id', event.request_id],
    ['Recorded at', event.occurred_at],
    ['Actor', `${event.actor.email}${event.actor.user ? ` (${event.actor.user})` : ''}`],
    ['Groups', event.actor.groups.join(', ') || 'none'],
    ['Secret id', event.secret_id ?? 'none'],
    ['Outcome', `${event.outcome}, HTTP ${event.status ?? 'pending'}`],
    ['Vonage status', event.upstream_status === null ? 'not called' : String(event.upstream_status)],
    ['Client address', event.client_ip ?? 'unknown'],
    ['User agent', event.user_agent ?? 'none'],
    ['Rotation', event.rotation_id ?? 'none'],
  ];
  return html`<dl class="detail">${rows.map(([term, value]) => html`<dt>${term}</dt><dd>${value}</dd>`)}</dl>`;
}
