import { html } from 'htm/preact';
import { api, describeProblem, unwrap } from '../api.ts';
import { useLoad } from './use-load.ts';

type Report = Awaited<ReturnType<typeof verify>>;
const verify = () => unwrap(api.GET('/v1/audit-events/verify'));

/** When the whole chain was last walked, by the schedule: what an incremental check cannot see. */
function LastFull({ last }: { last: Report['last_full_verify'] }) {
  if (!last) return html`<span class="badge-detail">No full verify has run yet.</span>`;
  const when = new Date(last.verified_at);
  const found = last.status === 'intact' ? `intact (${last.records} records)` : `broken (${last.reason})`;
  return html`<span class="badge-detail">Last full verify:
    <time datetime=${last.verified_at} title=${when.toISOString()}>${when.toLocaleString()}</time>, ${found}.</span>`;
}

/**
 * What GET /v1/audit-events/verify proved, said as it is: records and events counted apart, how many records
 * this check recomputed, and the last full walk (an incremental check cannot see an edit before its start).
 */
export function ChainBadge() {
  const [report, reload] = useLoad(verify, 'chain');
  if (report.state === 'loading') return html`<p class="badge" role="status">Verifying the audit chain…</p>`;
  if (report.state === 'failed') {
    return html`<p class="badge unknown" role="status">Chain not verified: ${describeProblem(report.error)}
      <button type="button" onClick=${reload}>Verify again</button></p>`;
  }
  const value = report.value;
  if (value.status === 'intact') {
    const checked =
      value.mode === 'full' ? 'all of them verified now' : `${value.checked_now} new records verified now`;
    return html`<p class="badge intact" role="status">
      Chain intact: ${value.records} records (${value.events} events and their outcomes), ${checked};
      head ${value.head_hash.slice(0, 12)}…. <${LastFull} last=${value.last_full_verify} /></p>`;
  }
  return html`<p class="badge broken" role="alert">Chain broken: ${value.reason} at ${value.at.table} ${value.at.id}
    (record ${value.at.seq ?? 'unlinked'}). Tell the security team. <${LastFull} last=${value.last_full_verify} /></p>`;
}
