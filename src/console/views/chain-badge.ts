import { html } from 'htm/preact';
import { api, describeProblem, unwrap } from '../api.ts';
import { useLoad } from './use-load.ts';

/** Whether the hash chain verifies right now (GET /v1/audit-events/verify). */
export function ChainBadge() {
  const [report, reload] = useLoad(() => unwrap(api.GET('/v1/audit-events/verify')), 'chain');
  if (report.state === 'loading') return html`<p class="badge" role="status">Verifying the audit chain…</p>`;
  if (report.state === 'failed') {
    return html`<p class="badge unknown" role="status">Chain not verified: ${describeProblem(report.error)}
      <button type="button" onClick=${reload}>Verify again</button></p>`;
  }
  const value = report.value;
  if (value.status === 'intact') {
    return html`<p class="badge intact" role="status">Chain intact: ${value.records} records, head ${value.head_hash.slice(0, 12)}…</p>`;
  }
  return html`<p class="badge broken" role="alert">Chain broken: ${value.reason} at ${value.at.table} ${value.at.id}
    (record ${value.at.seq ?? 'unlinked'}). Tell the security team.</p>`;
}
